// Login: a site account goes to its unit dashboard, everyone else to the schedule.
import { api, applyTexts } from "./common.js";

const TEXTS = {
  vi: { app: "Lịch họp trực tuyến", title: "Đăng nhập", username: "Tên đăng nhập", password: "Mật khẩu", submit: "Đăng nhập" },
  en: { app: "Online meeting schedule", title: "Sign in", username: "Username", password: "Password", submit: "Sign in" },
};
applyTexts(TEXTS);

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  try {
    const user = await api("POST", "/auth/login", {
      username: document.getElementById("username").value.trim(),
      password: document.getElementById("password").value,
    });
    location.href = user.role === "site" ? "/static/dashboard.html" : "/static/schedule.html";
  } catch (e) {
    error.textContent = e.message;
  }
});
