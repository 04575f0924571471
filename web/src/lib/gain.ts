/**
 * Loudness normalization. The audio service measures each track (EBU R128) and stores the
 * gain that brings it to -14 LUFS without lifting its true peak above -1 dBTP; the player
 * applies that gain and clamps it, so a bad value can neither blow up nor mute a track.
 */

export const MAX_BOOST_DB = 6;
export const MAX_CUT_DB = -24;

export function dbToLinear(db: number): number {
  return 10 ** (db / 20);
}

export function clampGainDb(gainDb: number | null | undefined): number {
  if (gainDb === null || gainDb === undefined || !Number.isFinite(gainDb)) return 0;
  return Math.min(MAX_BOOST_DB, Math.max(MAX_CUT_DB, gainDb));
}

/** A slider position 0..1 to amplitude: a squared curve sounds even across its travel. */
export function volumeCurve(volume: number): number {
  const v = Math.min(1, Math.max(0, Number.isFinite(volume) ? volume : 0));
  return v * v;
}

export interface GainSettings {
  volume: number;
  muted: boolean;
  normalize: boolean;
  gainDb: number | null | undefined;
}

/** The GainNode's value: volume and normalization together. */
export function nodeGain(settings: GainSettings): number {
  if (settings.muted) return 0;
  const normalization = settings.normalize ? dbToLinear(clampGainDb(settings.gainDb)) : 1;
  return volumeCurve(settings.volume) * normalization;
}

/**
 * The element's volume when Web Audio is unavailable: it cannot go above 1, so a boost is
 * lost and only cuts apply.
 */
export function elementVolume(settings: GainSettings): number {
  return Math.min(1, nodeGain(settings));
}
