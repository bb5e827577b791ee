// Texts of the UI in Vietnamese (default) and English. The choice is remembered in
// localStorage so a commune hall's PC keeps the operator's language between meetings.

const STORAGE_KEY = "bridge.lang";

const TEXTS = {
  vi: {
    "app.title": "Cầu truyền hình",
    "app.subtitle": "Hội nghị trực tuyến của tỉnh",
    "lang.switch": "English",
    "lang.switch.label": "Switch to English",
    "state.idle": "Đang chuẩn bị",
    "state.connecting": "Đang kết nối…",
    "state.connected": "Đã kết nối",
    "state.reconnecting": "Mất kết nối, đang kết nối lại…",
    "state.closed": "Đã rời phòng họp",
    "state.error": "Không vào được phòng họp",
    "room.label": "Phòng họp",
    "skip.controls": "Đến thanh điều khiển",
    "controls.label": "Điều khiển cuộc họp",
    "stage.label": "Hình ảnh các điểm cầu",
    "btn.mic.on": "Tắt micrô",
    "btn.mic.off": "Bật micrô",
    "btn.cam.on": "Tắt camera",
    "btn.cam.off": "Bật camera",
    "btn.screen.start": "Chia sẻ màn hình",
    "btn.screen.stop": "Dừng chia sẻ",
    "btn.people": "Người tham dự",
    "btn.leave": "Rời phòng",
    "btn.rejoin": "Vào lại phòng họp",
    "btn.sound": "Bật âm thanh",
    "people.title": "Người tham dự",
    "people.count": "{n} người",
    "tile.you": "Bạn",
    "mic.muted": "Micrô đang tắt",
    "mic.live": "Micrô đang bật",
    "cam.muted": "Camera đang tắt",
    "cam.live": "Camera đang bật",
    "screen.label": "Màn hình của {name}",
    "role.chair": "Chủ trì",
    "role.member": "Thành viên",
    "role.viewer": "Người xem",
    "quality.good": "Chất lượng tốt",
    "quality.fair": "Chất lượng trung bình",
    "quality.poor": "Chất lượng kém",
    "quality.unknown": "Chưa có số liệu",
    "quality.detail": "Mất gói {loss}% · Trễ {rtt} ms · {kbps} kbit/s",
    "quality.estimate": "Ước lượng băng thông {kbps} kbit/s",
    "quality.layer": "Lớp hình {layer}",
    "roll.poor": "Mạng kém",
    "roll.netOk": "Mạng ổn",
    "roll.poorCount": "Mạng kém {n}",
    "empty.title": "Chưa có ai khác trong phòng",
    "empty.text": "Khi các điểm cầu khác vào phòng, hình ảnh của họ sẽ hiện ở đây.",
    "media.none": "Không dùng được camera và micrô. Bạn vẫn xem và nghe được cuộc họp.",
    "media.audioOnly": "Không dùng được camera. Bạn tham gia chỉ với micrô.",
    "media.videoOnly": "Không dùng được micrô. Bạn tham gia chỉ với camera.",
    "media.viewer": "Bạn tham dự với vai trò người xem: chỉ xem và nghe.",
    "media.screenFailed": "Không chia sẻ được màn hình.",
    "err.token_missing": "Đường dẫn thiếu mã tham gia. Hãy mở đúng đường dẫn được gửi cho đơn vị của bạn.",
    "err.token_invalid": "Mã tham gia không hợp lệ. Hãy kiểm tra lại đường dẫn hoặc xin đường dẫn mới từ văn phòng.",
    "err.token_expired": "Đường dẫn tham gia đã hết hạn. Hãy xin đường dẫn mới từ văn phòng tổ chức cuộc họp.",
    "err.token_lifetime": "Đường dẫn tham gia có thời hạn dài quá mức máy chủ cho phép. Hãy xin đường dẫn mới từ văn phòng tổ chức cuộc họp.",
    "err.wrong_room": "Đường dẫn này không dành cho phòng họp này. Hãy mở đúng đường dẫn được gửi cho đơn vị của bạn.",
    "err.room_full": "Phòng họp đã đủ số người tham dự. Hãy liên hệ văn phòng tổ chức cuộc họp.",
    "btn.hand.raise": "Giơ tay",
    "btn.hand.lower": "Hạ tay",
    "floor.you": "Bạn đang được phát biểu: mọi điểm cầu đang nghe bạn.",
    "floor.muted": "Chủ tọa đã tắt micrô của điểm cầu này.",
    "floor.moderated": "Cuộc họp do chủ tọa điều hành: hãy giơ tay để xin phát biểu.",
    "floor.waiting": "Đã giơ tay, đang chờ chủ tọa cho phát biểu.",
    "floor.holder": "Đang phát biểu",
    "floor.hand": "Đang giơ tay",
    "chair.title": "Điều hành cuộc họp",
    "roll.title": "Điểm danh",
    "roll.summary": "Đã vào {connected}/{expected} · Chưa vào {missing} · Đã rời {left}",
    "roll.connected": "Đã vào",
    "roll.not_joined": "Chưa vào",
    "roll.left": "Đã rời",
    "roll.reconnecting": "Đang kết nối lại",
    "roll.reconnecting.hint": "Mạng của điểm cầu bị gián đoạn; chỗ của điểm cầu được giữ trong 30 giây",
    "roll.no_media": "Vào họp, chưa có hình/tiếng",
    "roll.no_media.hint": "Điểm cầu đã vào phòng nhưng kết nối hình và tiếng chưa thông (tường lửa hoặc mạng chặn)",
    "roll.reconnectingCount": "Đang kết nối lại {n}",
    "roll.noMediaCount": "Chưa có hình/tiếng {n}",
    "tile.reconnecting": "Đang kết nối lại…",
    "tile.noMedia": "Chưa có hình/tiếng",
    "roll.audio": "có tiếng",
    "roll.noAudio": "không có tiếng",
    "roll.video": "có hình",
    "roll.noVideo": "không có hình",
    "chair.hands": "Xin phát biểu",
    "chair.noHands": "Chưa có điểm cầu nào giơ tay.",
    "chair.holder": "Đang phát biểu: {name}",
    "chair.noHolder": "Chưa ai được phát biểu.",
    "chair.grant": "Cho phát biểu",
    "chair.revoke": "Thu hồi",
    "chair.mute": "Tắt mic",
    "chair.unmute": "Mở mic",
    "chair.muteAll": "Tắt mic tất cả",
    "chair.remove": "Mời ra",
    "chair.confirmRemove": "Mời {name} ra khỏi phòng họp?",
    "chair.lock": "Khóa phòng",
    "chair.unlock": "Mở khóa phòng",
    "link.auto": "Đường truyền: tự động",
    "link.auto.hint": "máy chủ chọn chất lượng hình theo băng thông đo được",
    "link.cameraPaused": "Đường truyền yếu: tạm dừng gửi hình để giữ tiếng nói.",
    "link.thin": "Đường truyền yếu",
    "link.thin.hint": "chỉ nhận hình chính ở chất lượng thấp nhất",
    "link.audio": "Chỉ âm thanh",
    "link.audio.hint": "không nhận hình, chỉ nghe",
    "stage.prev": "Trang trước",
    "stage.next": "Trang sau",
    "links.title": "Phòng liên kết",
    "links.label": "Mã đơn vị hoặc mã phòng",
    "links.add": "Liên kết",
    "links.remove": "Tách",
    "links.none": "Chưa liên kết phòng nào.",
    "links.into": "Phòng này đang tham gia hội nghị: {title}",
    "links.pull": "Kéo phòng vào",
    "err.link_refused": "Không liên kết được: phòng này đã nằm trong hội nghị này hoặc chuỗi liên kết quá sâu.",
    "err.not_linkable": "Không liên kết được phòng này: hội nghị chỉ kéo được phòng của các đơn vị được mời (và đơn vị cấp dưới), không kéo phòng của một cuộc họp hay của hội nghị khác.",
    "err.invalid_room": "Mã phòng không hợp lệ: chỉ gồm chữ, số, dấu - và _, tối đa 64 ký tự.",
    "err.room_locked": "Chủ tọa đã khóa phòng họp. Hãy liên hệ văn phòng tổ chức cuộc họp.",
    "err.removed": "Chủ tọa đã mời điểm cầu này ra khỏi cuộc họp; đường dẫn này không dùng được nữa. Hãy xin đường dẫn mới từ văn phòng tổ chức cuộc họp.",
    "err.removed.t": "Chủ tọa đã mời điểm cầu này ra khỏi cuộc họp «{title}»; đường dẫn này không dùng được nữa. Hãy xin đường dẫn mới từ văn phòng tổ chức cuộc họp.",
    "err.room_locked.t": "Chủ tọa đã khóa phòng họp của cuộc họp «{title}». Hãy liên hệ văn phòng tổ chức cuộc họp hoặc thử vào lại sau.",
    "err.room_full.t": "Phòng họp của cuộc họp «{title}» đã đủ số người tham dự. Hãy liên hệ văn phòng tổ chức cuộc họp.",
    "err.not_yet_open": "Cuộc họp mở lúc {time}. Hãy quay lại vào giờ đó; đường dẫn này vẫn dùng được.",
    "err.not_yet_open.t": "Cuộc họp «{title}» mở lúc {time}. Hãy quay lại vào giờ đó; đường dẫn này vẫn dùng được.",
    "err.not_yet_open.later": "Cuộc họp chưa mở. Hãy quay lại gần giờ họp; đường dẫn này vẫn dùng được.",
    "bye.left.t": "Bạn đã rời cuộc họp «{title}».",
    "bye.removed.t": "Chủ tọa đã mời điểm cầu này ra khỏi cuộc họp «{title}».",
    "state.removed": "Đã bị mời ra khỏi phòng họp",
    "state.early": "Cuộc họp chưa mở",
    "end.back": "Về trang lịch họp",
    "end.login": "Đăng nhập để xem lịch họp",
    "end.opensAt": "{hm} ngày {dm}",
    "err.forbidden": "Vai trò của bạn không được phép thực hiện thao tác này.",
    "err.too_many_tracks": "Bạn đang gửi quá nhiều luồng hình/tiếng.",
    "err.network": "Không kết nối được tới máy chủ. Hãy kiểm tra đường truyền mạng.",
    "err.unsupported": "Trình duyệt này không hỗ trợ hội nghị trực tuyến. Hãy dùng Chrome, Edge hoặc Firefox bản mới.",
    "err.generic": "Có lỗi xảy ra: {message}",
    "bye.left": "Bạn đã rời phòng họp.",
    "bye.removed": "Bạn đã được mời ra khỏi phòng họp.",
    "bye.shutdown": "Máy chủ đang tạm dừng. Hãy vào lại sau ít phút.",
    "bye.timeout": "Mất kết nối quá lâu nên phiên họp đã kết thúc.",
    "bye.replaced": "Liên kết này vừa được mở ở một trang khác; phiên họp tiếp tục ở trang đó.",
    "landing.heading": "Cầu truyền hình trực tuyến",
    "landing.lead":
      "Hệ thống hội nghị truyền hình của tỉnh, nối các điểm cầu tỉnh, huyện và xã trong cùng một cuộc họp, chạy ngay trên trình duyệt.",
    "landing.how.title": "Cách tham gia",
    "landing.how.1": "Văn phòng tổ chức cuộc họp gửi cho đơn vị bạn một đường dẫn tham gia riêng.",
    "landing.how.2": "Mở đường dẫn bằng Chrome, Edge hoặc Firefox trên máy tính của hội trường.",
    "landing.how.3": "Cho phép trình duyệt dùng camera và micrô khi được hỏi.",
    "landing.need.title": "Chưa có đường dẫn?",
    "landing.need.text":
      "Liên hệ văn phòng (bộ phận tổ chức cuộc họp) của cơ quan chủ trì. Mỗi đường dẫn chỉ dùng cho một phòng họp và có thời hạn.",
    "landing.tips.title": "Lưu ý cho hội trường",
    "landing.tips.text":
      "Nên dùng mạng dây thay cho Wi-Fi khi có thể. Không có camera vẫn nghe và xem được. Vạch chất lượng trên mỗi ô hình cho biết đường truyền tốt hay kém.",
    "landing.staff.title": "Văn phòng và đơn vị",
    "landing.staff.text":
      "Thư ký xếp lịch và gọi họp khẩn; máy hội trường của đơn vị xem lịch, nhận cảnh báo họp khẩn và vào họp.",
    "landing.staff.link": "Đăng nhập lịch họp",
    // phone layout
    "panel.console": "Điều hành",
    "panel.close": "Đóng bảng",
    "panel.closeShort": "Đóng",
  },
  en: {
    "app.title": "Meeting bridge",
    "app.subtitle": "The province's video conference",
    "lang.switch": "Tiếng Việt",
    "lang.switch.label": "Chuyển sang tiếng Việt",
    "state.idle": "Getting ready",
    "state.connecting": "Connecting…",
    "state.connected": "Connected",
    "state.reconnecting": "Connection lost, reconnecting…",
    "state.closed": "You left the meeting",
    "state.error": "Could not join the meeting",
    "room.label": "Room",
    "skip.controls": "Skip to the controls",
    "controls.label": "Meeting controls",
    "stage.label": "Video of the sites",
    "btn.mic.on": "Mute microphone",
    "btn.mic.off": "Unmute microphone",
    "btn.cam.on": "Turn camera off",
    "btn.cam.off": "Turn camera on",
    "btn.screen.start": "Share screen",
    "btn.screen.stop": "Stop sharing",
    "btn.people": "Participants",
    "btn.leave": "Leave",
    "btn.rejoin": "Join again",
    "btn.sound": "Enable sound",
    "people.title": "Participants",
    "people.count": "{n} present",
    "tile.you": "You",
    "mic.muted": "Microphone off",
    "mic.live": "Microphone on",
    "cam.muted": "Camera off",
    "cam.live": "Camera on",
    "screen.label": "{name}'s screen",
    "role.chair": "Chair",
    "role.member": "Member",
    "role.viewer": "Viewer",
    "quality.good": "Good quality",
    "quality.fair": "Fair quality",
    "quality.poor": "Poor quality",
    "quality.unknown": "No figures yet",
    "quality.detail": "Loss {loss}% · RTT {rtt} ms · {kbps} kbit/s",
    "quality.estimate": "Bandwidth estimate {kbps} kbit/s",
    "quality.layer": "Layer {layer}",
    "roll.poor": "Poor network",
    "roll.netOk": "Network fine",
    "roll.poorCount": "Poor network {n}",
    "empty.title": "Nobody else is here yet",
    "empty.text": "When other sites join, their video appears here.",
    "media.none": "Camera and microphone are unavailable. You can still watch and listen.",
    "media.audioOnly": "The camera is unavailable. You take part with your microphone only.",
    "media.videoOnly": "The microphone is unavailable. You take part with your camera only.",
    "media.viewer": "You take part as a viewer: watch and listen only.",
    "media.screenFailed": "Could not share the screen.",
    "err.token_missing": "The link has no join code. Open the exact link that was sent to your unit.",
    "err.token_invalid": "The join code is not valid. Check the link or ask the office for a new one.",
    "err.token_expired": "This join link has expired. Ask the office that organises the meeting for a new one.",
    "err.token_lifetime": "This join link is valid for longer than the server allows. Ask the office that organises the meeting for a new one.",
    "err.wrong_room": "This link is not for this meeting room. Open the exact link that was sent to your unit.",
    "err.room_full": "The meeting room is full. Contact the office that organises the meeting.",
    "btn.hand.raise": "Raise hand",
    "btn.hand.lower": "Lower hand",
    "floor.you": "You have the floor: every site is hearing you.",
    "floor.muted": "The chair has turned this site's microphone off.",
    "floor.moderated": "The chair runs this meeting: raise your hand to ask to speak.",
    "floor.waiting": "Hand raised, waiting for the chair.",
    "floor.holder": "Has the floor",
    "floor.hand": "Hand raised",
    "chair.title": "Chairing",
    "roll.title": "Roll call",
    "roll.summary": "In {connected}/{expected} · Not joined {missing} · Left {left}",
    "roll.connected": "In",
    "roll.not_joined": "Not joined",
    "roll.left": "Left",
    "roll.reconnecting": "Reconnecting",
    "roll.reconnecting.hint": "The site's network dropped; its place is held for 30 seconds",
    "roll.no_media": "Joined, no audio/video yet",
    "roll.no_media.hint": "The site is in the room but its audio and video connection is not up (a firewall or the network blocks it)",
    "roll.reconnectingCount": "Reconnecting {n}",
    "roll.noMediaCount": "No audio/video {n}",
    "tile.reconnecting": "Reconnecting…",
    "tile.noMedia": "No audio/video yet",
    "roll.audio": "audio",
    "roll.noAudio": "no audio",
    "roll.video": "video",
    "roll.noVideo": "no video",
    "chair.hands": "Asking to speak",
    "chair.noHands": "No raised hands.",
    "chair.holder": "Speaking: {name}",
    "chair.noHolder": "Nobody has the floor.",
    "chair.grant": "Give the floor",
    "chair.revoke": "Take it back",
    "chair.mute": "Mute",
    "chair.unmute": "Unmute",
    "chair.muteAll": "Mute all",
    "chair.remove": "Remove",
    "chair.confirmRemove": "Remove {name} from the meeting?",
    "chair.lock": "Lock the room",
    "chair.unlock": "Unlock the room",
    "link.auto": "Link: automatic",
    "link.auto.hint": "the server picks picture quality from the measured bandwidth",
    "link.cameraPaused": "Weak link: your video is paused so that your voice gets through.",
    "link.thin": "Thin link",
    "link.thin.hint": "only the main picture, at the lowest quality",
    "link.audio": "Audio only",
    "link.audio.hint": "no pictures, sound only",
    "stage.prev": "Previous page",
    "stage.next": "Next page",
    "links.title": "Linked rooms",
    "links.label": "Unit code or room id",
    "links.add": "Link",
    "links.remove": "Unlink",
    "links.none": "No room linked yet.",
    "links.into": "This room is taking part in the conference: {title}",
    "links.pull": "Pull the room in",
    "err.link_refused": "Cannot link: that room is already part of this conference, or the chain of links is too deep.",
    "err.not_linkable": "Cannot link this room: a conference pulls in only the rooms of its invited units (and the units below them), never a meeting's room or another conference.",
    "err.invalid_room": "Invalid room code: letters, digits, - and _ only, at most 64 characters.",
    "err.room_locked": "The chair has locked the meeting room. Contact the office that organises the meeting.",
    "err.removed": "The chair removed this site from the meeting; this link no longer works. Ask the office that organises the meeting for a new one.",
    "err.removed.t": "The chair removed this site from the meeting “{title}”; this link no longer works. Ask the office that organises the meeting for a new one.",
    "err.room_locked.t": "The chair has locked the room of the meeting “{title}”. Contact the office that organises the meeting, or try again later.",
    "err.room_full.t": "The room of the meeting “{title}” is full. Contact the office that organises the meeting.",
    "err.not_yet_open": "The meeting opens at {time}. Come back then; this link will still work.",
    "err.not_yet_open.t": "The meeting “{title}” opens at {time}. Come back then; this link will still work.",
    "err.not_yet_open.later": "The meeting has not opened yet. Come back near its start; this link will still work.",
    "bye.left.t": "You left the meeting “{title}”.",
    "bye.removed.t": "The chair removed this site from the meeting “{title}”.",
    "state.removed": "Removed from the meeting",
    "state.early": "The meeting has not opened yet",
    "end.back": "Back to my meetings",
    "end.login": "Sign in to see your meetings",
    "end.opensAt": "{hm} on {dm}",
    "err.forbidden": "Your role may not do this.",
    "err.too_many_tracks": "You are sending too many audio/video streams.",
    "err.network": "Cannot reach the server. Check the network connection.",
    "err.unsupported": "This browser cannot take part in video meetings. Use a recent Chrome, Edge or Firefox.",
    "err.generic": "Something went wrong: {message}",
    "bye.left": "You left the meeting.",
    "bye.removed": "You were removed from the meeting.",
    "bye.shutdown": "The server is pausing. Join again in a few minutes.",
    "bye.timeout": "The connection was lost for too long, so the session ended.",
    "bye.replaced": "This link was just opened on another page; the meeting goes on there.",
    "landing.heading": "Online meeting bridge",
    "landing.lead":
      "The province's video conference system: province, district and commune sites in one meeting, right in the browser.",
    "landing.how.title": "How to join",
    "landing.how.1": "The office organising the meeting sends your unit its own join link.",
    "landing.how.2": "Open the link in Chrome, Edge or Firefox on the meeting hall's computer.",
    "landing.how.3": "Allow the browser to use the camera and microphone when asked.",
    "landing.need.title": "No link yet?",
    "landing.need.text":
      "Contact the office (meeting organisers) of the chairing agency. Each link is for one meeting room and expires.",
    "landing.tips.title": "Tips for meeting halls",
    "landing.tips.text":
      "Prefer a cable to Wi-Fi where you can. Without a camera you can still watch and listen. The bars on each video show whether the link is good or poor.",
    "landing.staff.title": "Offices and units",
    "landing.staff.text":
      "Secretaries schedule meetings and call urgent sessions; a unit's hall PC sees its schedule, gets urgent alerts and joins.",
    "landing.staff.link": "Sign in to the schedule",
    // phone layout
    "panel.console": "Chairing",
    "panel.close": "Close the panel",
    "panel.closeShort": "Close",
  },
};

function readStoredLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === "en" || v === "vi" ? v : "vi";
  } catch {
    // Storage can be disabled (private mode, policy): Vietnamese is the default.
    return "vi";
  }
}

let lang = readStoredLang();
const listeners = new Set();

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (next !== "vi" && next !== "en") return;
  lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered, but the switch still applies to this page.
  }
  document.documentElement.lang = next;
  applyI18n(document);
  for (const fn of listeners) fn(next);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** Text for `key` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = TEXTS[lang][key] ?? TEXTS.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** True when a translation exists (used to map server error codes to texts). */
export function has(key) {
  return key in TEXTS.vi;
}

/** Fills every element carrying data-i18n (text), data-i18n-label (aria-label) or data-i18n-title. */
export function applyI18n(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

/** Wires a button that toggles between the two languages. */
export function bindLangSwitch(button) {
  const render = () => {
    button.textContent = t("lang.switch");
    button.setAttribute("aria-label", t("lang.switch.label"));
    button.lang = lang === "vi" ? "en" : "vi";
  };
  render();
  onLangChange(render);
  button.addEventListener("click", () => setLang(lang === "vi" ? "en" : "vi"));
}
