// "Đổi mật khẩu": the signed-in account changes its own password (POST /api/me/password).
// The server ends every other session of the account; this one stays signed in.

import { api, applyTexts, me, t } from "./sched/common.js";

const MIN_CHARS = 8;

const TEXTS = {
  vi: {
    app: "Đổi mật khẩu", home: "Lịch họp", logout: "Đăng xuất", title: "Đổi mật khẩu",
    current: "Mật khẩu hiện tại", new: `Mật khẩu mới (ít nhất ${MIN_CHARS} ký tự)`, again: "Nhập lại mật khẩu mới",
    submit: "Đổi mật khẩu", done: "Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc.",
    short: `Mật khẩu mới phải có ít nhất ${MIN_CHARS} ký tự.`, mismatch: "Hai lần nhập mật khẩu mới không khớp.",
  },
  en: {
    app: "Change password", home: "Schedule", logout: "Sign out", title: "Change password",
    current: "Current password", new: `New password (at least ${MIN_CHARS} characters)`, again: "New password again",
    submit: "Change password", done: "Password changed. The account's other sessions have been signed out.",
    short: `The new password needs at least ${MIN_CHARS} characters.`, mismatch: "The two new passwords differ.",
  },
};

applyTexts(TEXTS);

const form = document.getElementById("change");
const error = document.getElementById("error");
const done = document.getElementById("done");

document.getElementById("logout").onclick = async () => {
  await api("POST", "/auth/logout").catch(() => {});
  location.href = "/static/login.html";
};

// Secretaries plan on the schedule page; everyone else lands on the dashboard.
me().then((who) => {
  document.getElementById("who").textContent = who.username;
  if (who.role === "secretary" || who.role === "administrator") {
    document.getElementById("home").href = "/static/schedule.html";
  }
}).catch(() => {});

form.onsubmit = async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  done.hidden = true;
  const current = form.current.value;
  const next = form.new.value;
  if ([...next].length < MIN_CHARS) {
    error.textContent = t(TEXTS, "short");
    return;
  }
  if (next !== form.again.value) {
    error.textContent = t(TEXTS, "mismatch");
    return;
  }
  try {
    await api("POST", "/me/password", { current_password: current, new_password: next });
    form.reset();
    done.hidden = false;
  } catch (e) {
    if (e.status === 401) location.href = "/static/login.html";
    error.textContent = e.message;
  }
};
