/**
 * Waveform peaks in BBC audiowaveform's JSON format (version 1 or 2), as the audio service
 * writes them: `data` holds a (min, max) pair per pixel, channel after channel, in 8- or
 * 16-bit signed values. The player draws one bar per bucket of screen width.
 */

export interface Waveform {
  sampleRate: number;
  samplesPerPixel: number;
  /** Pixels in the file (pairs per channel). */
  length: number;
  /** Per pixel, the largest absolute amplitude over all channels, 0..1. */
  amplitudes: Float32Array;
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new Error(`waveform: ${name} must be a positive integer`);
  }
  return value;
}

export function parseWaveform(json: unknown): Waveform {
  if (typeof json !== "object" || json === null) throw new Error("waveform: not an object");
  const doc = json as Record<string, unknown>;
  const version = doc.version ?? 1;
  if (version !== 1 && version !== 2) throw new Error(`waveform: unknown version ${String(version)}`);
  const channels = version === 2 ? positiveInt(doc.channels ?? 1, "channels") : 1;
  const bits = doc.bits;
  if (bits !== 8 && bits !== 16) throw new Error("waveform: bits must be 8 or 16");
  const sampleRate = positiveInt(doc.sample_rate, "sample_rate");
  const samplesPerPixel = positiveInt(doc.samples_per_pixel, "samples_per_pixel");
  const data = doc.data;
  if (!Array.isArray(data)) throw new Error("waveform: data must be an array");
  const stated = typeof doc.length === "number" ? doc.length : Math.floor(data.length / (2 * channels));
  const length = Math.min(stated, Math.floor(data.length / (2 * channels)));
  const scale = bits === 8 ? 128 : 32768;
  const amplitudes = new Float32Array(length);
  for (let pixel = 0; pixel < length; pixel++) {
    let peak = 0;
    for (let channel = 0; channel < channels; channel++) {
      const at = (pixel * channels + channel) * 2;
      const low = Number(data[at]);
      const high = Number(data[at + 1]);
      if (Number.isFinite(low)) peak = Math.max(peak, Math.abs(low));
      if (Number.isFinite(high)) peak = Math.max(peak, Math.abs(high));
    }
    amplitudes[pixel] = Math.min(1, peak / scale);
  }
  return { sampleRate, samplesPerPixel, length, amplitudes };
}

export function waveformSeconds(waveform: Waveform): number {
  return (waveform.length * waveform.samplesPerPixel) / waveform.sampleRate;
}

/**
 * `buckets` bar heights (0..1): each the loudest pixel it covers, so short peaks survive
 * downsampling. With more buckets than pixels, each bucket takes the pixel under it.
 */
export function downsample(amplitudes: Float32Array, buckets: number): Float32Array {
  const count = Math.max(0, Math.floor(buckets));
  const out = new Float32Array(count);
  const length = amplitudes.length;
  if (length === 0 || count === 0) return out;
  for (let bucket = 0; bucket < count; bucket++) {
    const start = Math.floor((bucket * length) / count);
    const end = Math.max(start + 1, Math.floor(((bucket + 1) * length) / count));
    let peak = 0;
    for (let i = start; i < end && i < length; i++) peak = Math.max(peak, amplitudes[i] ?? 0);
    out[bucket] = peak;
  }
  return out;
}

/** Scales bars so the loudest reaches 1: quiet masters still show their shape. */
export function normalizePeaks(bars: Float32Array): Float32Array {
  let top = 0;
  for (const bar of bars) top = Math.max(top, bar);
  if (top === 0) return bars;
  return bars.map((bar) => bar / top);
}
