import { describe, expect, it } from "vitest";

import * as q from "../src/lib/queue";

const abc = q.queueOf(["a", "b", "c"]);

describe("queue", () => {
  it("starts where asked, clamped", () => {
    expect(q.current(q.queueOf(["a", "b"], 1))).toBe("b");
    expect(q.queueOf(["a", "b"], 9).index).toBe(1);
    expect(q.current(q.queueOf([]))).toBeNull();
  });

  it("moves on and stops at the end unless repeating", () => {
    const last = q.jumpTo(abc, 2);
    expect(q.current(q.next(abc) as q.Queue<string>)).toBe("b");
    expect(q.next(last)).toBeNull();
    expect(q.current(q.next(last, "all") as q.Queue<string>)).toBe("a");
    expect(q.next(last, "one")).toBe(last);
    expect(q.hasNext(last)).toBe(false);
    expect(q.hasNext(last, "all")).toBe(true);
  });

  it("previous restarts a track that has played a while", () => {
    const second = q.jumpTo(abc, 1);
    expect(q.previous(second, 10)).toEqual({ kind: "restart" });
    expect(q.previous(second, 1)).toEqual({ kind: "move", queue: { items: ["a", "b", "c"], index: 0 } });
    expect(q.previous(abc, 0)).toEqual({ kind: "restart" });
  });

  it("enqueues at the end and right after the current track", () => {
    expect(q.enqueue(q.emptyQueue<string>(), "x")).toEqual({ items: ["x"], index: 0 });
    expect(q.enqueue(abc, "x").items).toEqual(["a", "b", "c", "x"]);
    const next = q.enqueueNext(q.jumpTo(abc, 1), "x");
    expect(next).toEqual({ items: ["a", "b", "x", "c"], index: 1 });
  });

  it("removing keeps the current track current, or makes the next one current", () => {
    const second = q.jumpTo(abc, 1);
    expect(q.removeAt(second, 0)).toEqual({ items: ["b", "c"], index: 0 });
    expect(q.removeAt(second, 2)).toEqual({ items: ["a", "b"], index: 1 });
    expect(q.removeAt(second, 1)).toEqual({ items: ["a", "c"], index: 1 });
    expect(q.removeAt(q.jumpTo(abc, 2), 2)).toEqual({ items: ["a", "b"], index: 1 });
    expect(q.removeAt(q.queueOf(["a"]), 0)).toEqual({ items: [], index: -1 });
    expect(q.removeAt(abc, 7)).toBe(abc);
  });

  it("moving entries follows the current track", () => {
    expect(q.move(abc, 0, 2)).toEqual({ items: ["b", "c", "a"], index: 2 });
    const second = q.jumpTo(abc, 1);
    expect(q.move(second, 0, 2)).toEqual({ items: ["b", "c", "a"], index: 0 });
    expect(q.move(second, 2, 0)).toEqual({ items: ["c", "a", "b"], index: 2 });
    expect(q.move(second, 2, 2)).toBe(second);
  });
});
