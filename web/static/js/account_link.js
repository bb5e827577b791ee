// The header's "Đổi mật khẩu" link on the signed-in pages, in the page's language.

import { lang } from "./sched/common.js";

const link = document.getElementById("account-link");
if (link && lang === "en") link.textContent = "Change password";
