import { render } from "preact";

import { ApiClient, AuthClient, DEVICE_KEY } from "./lib/api";
import { loadConfig } from "./lib/config";
import { endpoints } from "./lib/endpoints";
import { paths } from "./lib/routes";
import { Player } from "./player/engine";
import { ServicesContext } from "./ui/app-context";
import { App } from "./ui/app";
import { navigate } from "./ui/router";
import "./styles.css";

/** A random id per browser: the users service's bot check counts sign-ups per device. */
function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

const withLock =
  "locks" in navigator
    ? <T,>(name: string, task: () => Promise<T>) => navigator.locks.request(name, task) as Promise<T>
    : undefined;

const auth = new AuthClient({
  fetch: (input, init) => fetch(input, init),
  storage: localStorage,
  now: () => Date.now(),
  ...(withLock ? { withLock } : {}),
});
window.addEventListener("storage", (event) => {
  if (event.key === null || event.key === "spotilike.session") auth.syncFromStorage();
});

const device = deviceId();
const api = endpoints(new ApiClient(auth, (input, init) => fetch(input, init), () => ({ "X-Device-Fingerprint": device })));

const audio = document.getElementById("player-audio") as HTMLAudioElement;
const player = new Player(audio, {
  auth,
  api,
  onSignInNeeded: () => navigate(paths.login(location.pathname + location.search)),
});

const root = document.getElementById("app") as HTMLElement;
void loadConfig().then((config) => {
  render(
    <ServicesContext.Provider value={{ auth, api, player, config }}>
      <App />
    </ServicesContext.Provider>,
    root,
  );
});
