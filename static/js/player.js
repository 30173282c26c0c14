// The one animation player: every animated view drives its frames through a Player.
// One requestAnimationFrame loop runs while playing; a cancel token stops it for good
// when the player pauses, seeks or is reset, so no stale loop can keep advancing.

export const SPEEDS = [0.5, 1, 2, 4, 8]; // steps per second

export class Player {
  #index = 0;
  #count = 0;
  #speed = 2;
  #token = null;
  #listeners = new Set();

  constructor({ count = 0, speed = 2 } = {}) {
    this.#count = Math.max(0, count);
    this.#speed = speed;
  }

  get index() {
    return this.#index;
  }

  get count() {
    return this.#count;
  }

  get speed() {
    return this.#speed;
  }

  get playing() {
    return this.#token !== null;
  }

  get atEnd() {
    return this.#index >= this.#count - 1;
  }

  /** Call `listener({index, count, playing, speed})` on every change; returns an unsubscribe. */
  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** New number of frames (e.g. after new data); keeps the index when it still exists. */
  setCount(count, { index = this.#index } = {}) {
    this.#stop();
    this.#count = Math.max(0, count);
    this.#index = this.#clamp(index);
    this.#emit();
  }

  play() {
    if (this.#count <= 1 || this.playing) return;
    if (this.atEnd) this.#index = 0;
    const token = { cancelled: false };
    this.#token = token;
    let last = null;
    let elapsed = 0;
    const tick = (now) => {
      if (token.cancelled) return;
      if (last !== null) elapsed += now - last;
      last = now;
      const interval = 1000 / this.#speed;
      let moved = false;
      while (elapsed >= interval && !token.cancelled) {
        elapsed -= interval;
        this.#index += 1;
        moved = true;
        if (this.atEnd) {
          this.#stop();
          break;
        }
      }
      if (moved || token.cancelled) this.#emit();
      if (!token.cancelled) requestAnimationFrame(tick);
    };
    this.#emit();
    requestAnimationFrame(tick);
  }

  pause() {
    if (!this.playing) return;
    this.#stop();
    this.#emit();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  stepForward() {
    this.seek(this.#index + 1);
  }

  stepBack() {
    this.seek(this.#index - 1);
  }

  /** Jump to frame `index` (clamped); pauses playback. */
  seek(index) {
    const wasPlaying = this.playing;
    this.#stop();
    const next = this.#clamp(index);
    if (next !== this.#index || wasPlaying) {
      this.#index = next;
      this.#emit();
    }
  }

  setSpeed(speed) {
    if (!(speed > 0) || speed === this.#speed) return;
    this.#speed = speed;
    this.#emit();
  }

  reset() {
    this.#stop();
    this.#index = 0;
    this.#emit();
  }

  destroy() {
    this.#stop();
    this.#listeners.clear();
  }

  #clamp(index) {
    if (this.#count === 0) return 0;
    return Math.min(Math.max(0, Math.round(index)), this.#count - 1);
  }

  #stop() {
    if (this.#token) this.#token.cancelled = true;
    this.#token = null;
  }

  #emit() {
    const snapshot = { index: this.#index, count: this.#count, playing: this.playing, speed: this.#speed };
    for (const listener of this.#listeners) listener(snapshot);
  }
}
