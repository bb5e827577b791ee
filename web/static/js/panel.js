// The side panel (the chair's console, then the participant list) on narrow screens.
// From 900 px wide it is the column it has always been, shown or hidden by the people
// button. Below that it is a drawer over the stage, closed at first, opened by the
// people button or, for a chair, by the "Điều hành" button in the header, and closed
// by either again, by its own close button, by a tap beside it or by Escape.

const NARROW = "(max-width: 899.98px)";
const $ = (id) => document.getElementById(id);

export class SidePanel {
  /** `onChange` runs after the panel opened, closed or changed form (a resize). */
  constructor(onChange = () => {}) {
    this.onChange = onChange;
    this.mq = window.matchMedia(NARROW);
    this.aside = $("people");
    this.peopleButton = $("btn-people");
    this.consoleButton = $("btn-console");
    this.chairPanel = $("chair-panel");
    this.backdrop = $("drawer-backdrop");
    this.opener = null; // the button that opened the drawer: focus goes back to it
    this.consoleButton.addEventListener("click", () => this.toggleDrawer(this.consoleButton));
    $("drawer-close").addEventListener("click", () => this.close(true));
    this.backdrop.addEventListener("click", () => this.close(true));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.isOpen()) {
        e.preventDefault();
        this.close(true);
      }
    });
    this.mq.addEventListener("change", () => {
      if (!this.narrow()) this.close(false);
      this.sync();
    });
    // The console button is a chair's only: it follows the chair's panel (chair.js).
    const follow = () => {
      this.consoleButton.hidden = this.chairPanel.hidden;
      if (this.chairPanel.hidden && this.opener === this.consoleButton) this.opener = this.peopleButton;
    };
    new MutationObserver(follow).observe(this.chairPanel, { attributes: true, attributeFilter: ["hidden"] });
    follow();
    this.sync();
  }

  narrow() {
    return this.mq.matches;
  }

  isOpen() {
    return document.body.classList.contains("drawer-open");
  }

  /** The people button: the drawer on a narrow screen, the column on a wide one. */
  togglePeople() {
    if (this.narrow()) {
      this.toggleDrawer(this.peopleButton);
      return;
    }
    document.body.classList.toggle("people-closed");
    this.sync();
  }

  toggleDrawer(opener) {
    if (this.isOpen()) this.close(true);
    else this.open(opener);
  }

  open(opener) {
    this.opener = opener;
    document.body.classList.add("drawer-open");
    this.backdrop.hidden = false;
    this.sync();
    // The console opens on the chair's panel (at the top); the people button on the list.
    const toConsole = opener === this.consoleButton && !this.chairPanel.hidden;
    const heading = $(toConsole ? "chair-title" : "people-title");
    this.aside.scrollTop = 0;
    if (!toConsole && !this.chairPanel.hidden) {
      const above = this.aside.querySelector(".drawer-bar")?.offsetHeight ?? 0;
      const list = $("people-list").getBoundingClientRect().top - this.aside.getBoundingClientRect().top;
      this.aside.scrollTop = Math.max(0, list - above - heading.offsetHeight);
    }
    heading.focus({ preventScroll: true });
  }

  /** Closes the drawer; `refocus`: focus goes back to the button that opened it. */
  close(refocus) {
    if (!this.isOpen()) return;
    document.body.classList.remove("drawer-open");
    this.backdrop.hidden = true;
    const back = this.opener;
    this.opener = null;
    this.sync();
    if (refocus && back && !back.hidden) back.focus();
  }

  /** `aria-expanded` of both buttons, from what is on screen now. */
  sync() {
    const narrow = this.narrow();
    const peopleOpen = narrow ? this.isOpen() : !document.body.classList.contains("people-closed");
    this.peopleButton.setAttribute("aria-expanded", String(peopleOpen));
    this.consoleButton.setAttribute("aria-expanded", String(narrow && this.isOpen()));
    this.peopleButton.classList.toggle("active", narrow && this.isOpen());
    this.onChange();
  }
}
