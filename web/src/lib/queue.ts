/**
 * The play queue as plain values: every change returns a new queue, so the player and the
 * queue panel can never disagree about what is current.
 */

export interface Queue<T> {
  readonly items: readonly T[];
  /** -1 when empty. */
  readonly index: number;
}

export type Repeat = "off" | "all" | "one";

/** Past this many seconds into a track, "previous" restarts it instead of going back. */
export const RESTART_THRESHOLD_SECONDS = 3;

export function emptyQueue<T>(): Queue<T> {
  return { items: [], index: -1 };
}

export function queueOf<T>(items: readonly T[], start = 0): Queue<T> {
  if (items.length === 0) return emptyQueue();
  return { items: [...items], index: Math.min(Math.max(start, 0), items.length - 1) };
}

export function current<T>(queue: Queue<T>): T | null {
  return queue.index >= 0 ? (queue.items[queue.index] ?? null) : null;
}

export function hasNext<T>(queue: Queue<T>, repeat: Repeat = "off"): boolean {
  if (queue.items.length === 0) return false;
  return repeat !== "off" || queue.index < queue.items.length - 1;
}

export function hasPrevious<T>(queue: Queue<T>): boolean {
  return queue.index > 0;
}

/** The queue after a track ends or "next" is pressed; null when playback should stop. */
export function next<T>(queue: Queue<T>, repeat: Repeat = "off"): Queue<T> | null {
  if (queue.items.length === 0) return null;
  if (repeat === "one") return queue;
  if (queue.index < queue.items.length - 1) return { ...queue, index: queue.index + 1 };
  return repeat === "all" ? { ...queue, index: 0 } : null;
}

export type PreviousAction<T> = { kind: "restart" } | { kind: "move"; queue: Queue<T> };

export function previous<T>(queue: Queue<T>, positionSeconds: number): PreviousAction<T> {
  if (positionSeconds > RESTART_THRESHOLD_SECONDS || queue.index <= 0) return { kind: "restart" };
  return { kind: "move", queue: { ...queue, index: queue.index - 1 } };
}

export function jumpTo<T>(queue: Queue<T>, index: number): Queue<T> {
  if (index < 0 || index >= queue.items.length) return queue;
  return { ...queue, index };
}

export function enqueue<T>(queue: Queue<T>, item: T): Queue<T> {
  const items = [...queue.items, item];
  return { items, index: queue.index < 0 ? 0 : queue.index };
}

/** Puts `item` right after the current one, for "play next". */
export function enqueueNext<T>(queue: Queue<T>, item: T): Queue<T> {
  if (queue.index < 0) return queueOf([item]);
  const items = [...queue.items];
  items.splice(queue.index + 1, 0, item);
  return { items, index: queue.index };
}

/** Removes an entry; removing the current one makes the following one current. */
export function removeAt<T>(queue: Queue<T>, index: number): Queue<T> {
  if (index < 0 || index >= queue.items.length) return queue;
  const items = queue.items.filter((_, i) => i !== index);
  if (items.length === 0) return emptyQueue();
  let at = queue.index;
  if (index < at) at -= 1;
  return { items, index: Math.min(at, items.length - 1) };
}

export function move<T>(queue: Queue<T>, from: number, to: number): Queue<T> {
  const count = queue.items.length;
  if (from < 0 || from >= count || to < 0 || to >= count || from === to) return queue;
  const items = [...queue.items];
  const [moved] = items.splice(from, 1);
  items.splice(to, 0, moved as T);
  let at = queue.index;
  if (from === at) at = to;
  else if (from < at && to >= at) at -= 1;
  else if (from > at && to <= at) at += 1;
  return { items, index: at };
}
