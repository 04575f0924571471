import { describe, expect, it } from "vitest";

import { clampGainDb, dbToLinear, elementVolume, MAX_BOOST_DB, MAX_CUT_DB, nodeGain, volumeCurve } from "../src/lib/gain";

describe("gain", () => {
  it("converts decibels to amplitude", () => {
    expect(dbToLinear(0)).toBe(1);
    expect(dbToLinear(-6)).toBeCloseTo(0.501, 3);
    expect(dbToLinear(20)).toBeCloseTo(10);
  });

  it("clamps absurd or missing gains", () => {
    expect(clampGainDb(null)).toBe(0);
    expect(clampGainDb(Number.NaN)).toBe(0);
    expect(clampGainDb(40)).toBe(MAX_BOOST_DB);
    expect(clampGainDb(-90)).toBe(MAX_CUT_DB);
    expect(clampGainDb(-3.5)).toBe(-3.5);
  });

  it("combines volume and normalization on the gain node", () => {
    const base = { volume: 1, muted: false, normalize: true, gainDb: -6 };
    expect(nodeGain(base)).toBeCloseTo(0.501, 3);
    expect(nodeGain({ ...base, normalize: false })).toBe(1);
    expect(nodeGain({ ...base, volume: 0.5 })).toBeCloseTo(0.125, 3);
    expect(nodeGain({ ...base, muted: true })).toBe(0);
    expect(nodeGain({ ...base, gainDb: 3 })).toBeCloseTo(1.413, 3);
  });

  it("can only cut on the element, never exceed full volume", () => {
    expect(elementVolume({ volume: 1, muted: false, normalize: true, gainDb: 5 })).toBe(1);
    expect(elementVolume({ volume: 1, muted: false, normalize: true, gainDb: -6 })).toBeCloseTo(0.501, 3);
  });

  it("uses a squared volume curve bounded to 0..1", () => {
    expect(volumeCurve(0.5)).toBe(0.25);
    expect(volumeCurve(2)).toBe(1);
    expect(volumeCurve(-1)).toBe(0);
  });
});
