// The landing page: static text in the chosen language, nothing else.

import { applyI18n, bindLangSwitch } from "./i18n.js";

applyI18n(document);
bindLangSwitch(document.getElementById("lang"));
document.body.dataset.ready = "true"; // the language switch works from here on
