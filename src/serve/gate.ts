/** At most `places` holders at once: tryEnter() gives the way out, or null when every place is taken (no queue). */
export class Gate {
  #inside = 0;

  constructor(readonly places: number) {}

  tryEnter(): (() => void) | null {
    if (this.#inside >= this.places) return null;
    this.#inside++;
    let left = false;
    return () => {
      if (!left) this.#inside--;
      left = true;
    };
  }
}
