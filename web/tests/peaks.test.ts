import { describe, expect, it } from "vitest";

import { downsample, normalizePeaks, parseWaveform, waveformSeconds } from "../src/lib/peaks";

describe("parseWaveform", () => {
  it("reads an 8-bit mono version 2 file as the audio service writes it", () => {
    const waveform = parseWaveform({
      version: 2,
      channels: 1,
      sample_rate: 44100,
      samples_per_pixel: 4410,
      bits: 8,
      length: 3,
      data: [-64, 32, -128, 127, 0, 0],
    });
    expect(Array.from(waveform.amplitudes)).toEqual([0.5, 1, 0]);
    expect(waveformSeconds(waveform)).toBeCloseTo(0.3);
  });

  it("mixes channels to the louder one and scales 16-bit values", () => {
    const waveform = parseWaveform({
      version: 2,
      channels: 2,
      sample_rate: 8000,
      samples_per_pixel: 80,
      bits: 16,
      length: 2,
      data: [-8192, 8192, -16384, 0, 0, 32767, 0, 0],
    });
    expect(waveform.amplitudes[0]).toBeCloseTo(0.5);
    expect(waveform.amplitudes[1]).toBeCloseTo(1, 3);
  });

  it("reads version 1 (no channels field) and trusts data over a too large length", () => {
    const waveform = parseWaveform({ sample_rate: 100, samples_per_pixel: 10, bits: 8, length: 10, data: [-1, 1, -2, 2] });
    expect(waveform.length).toBe(2);
  });

  it("refuses malformed files", () => {
    expect(() => parseWaveform(null)).toThrow();
    expect(() => parseWaveform({ version: 3 })).toThrow(/version/);
    expect(() => parseWaveform({ version: 2, bits: 12, sample_rate: 1, samples_per_pixel: 1, data: [] })).toThrow(/bits/);
    expect(() => parseWaveform({ version: 2, bits: 8, sample_rate: 0, samples_per_pixel: 1, data: [] })).toThrow(/sample_rate/);
    expect(() => parseWaveform({ version: 2, bits: 8, sample_rate: 1, samples_per_pixel: 1, data: "x" })).toThrow(/data/);
  });
});

describe("downsample", () => {
  it("keeps the loudest pixel of each bucket", () => {
    const amplitudes = Float32Array.from([0.1, 0.9, 0.2, 0.3, 0.05, 0.4]);
    expect(Array.from(downsample(amplitudes, 3))).toEqual([
      Math.fround(0.9),
      Math.fround(0.3),
      Math.fround(0.4),
    ]);
  });

  it("covers every pixel exactly once when buckets do not divide evenly", () => {
    const amplitudes = Float32Array.from({ length: 10 }, (_, i) => i / 10);
    const bars = downsample(amplitudes, 3);
    expect(bars).toHaveLength(3);
    expect(bars[2]).toBeCloseTo(0.9);
  });

  it("repeats pixels when there are more buckets than pixels", () => {
    const bars = downsample(Float32Array.from([0.2, 0.8]), 4);
    expect(Array.from(bars).map((v) => Math.round(v * 10) / 10)).toEqual([0.2, 0.2, 0.8, 0.8]);
  });

  it("gives empty or zero output for degenerate input", () => {
    expect(downsample(new Float32Array(0), 5)).toEqual(new Float32Array(5));
    expect(downsample(Float32Array.from([1]), 0)).toHaveLength(0);
  });

  it("normalizes so the loudest bar is full height", () => {
    expect(Array.from(normalizePeaks(Float32Array.from([0.25, 0.5])))).toEqual([0.5, 1]);
    expect(Array.from(normalizePeaks(Float32Array.from([0, 0])))).toEqual([0, 0]);
  });
});
