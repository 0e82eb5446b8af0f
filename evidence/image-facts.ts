import type { ImageFacts, StatedDate, StatedGps } from '../schemas/image-metadata.js';

/**
 * The core facts of an image as its file states them, beside our reading of each: EXIF dates as
 * their raw strings with offset and sub-seconds, Orientation as its number and label, GPS as the
 * stated rationals and refs with the decimal reading. Built from exifr output read with
 * `translateValues: false, reviveValues: false` (values untouched) plus the GPS IFD's rationals.
 */

/** EXIF Orientation labels, worded as exiftool words them. */
export const ORIENTATION_LABELS: Readonly<Record<number, string>> = {
  1: 'Horizontal (normal)',
  2: 'Mirror horizontal',
  3: 'Rotate 180',
  4: 'Mirror vertical',
  5: 'Mirror horizontal and rotate 270 CW',
  6: 'Rotate 90 CW',
  7: 'Mirror horizontal and rotate 90 CW',
  8: 'Rotate 270 CW',
};

/** A rational as the file states it: numerator and denominator. */
export type Rational = [number, number];

/** TIFF tag numbers of the GPS IFD whose values are rationals. */
export const GPS_RATIONAL_TAGS: Readonly<Record<number, string>> = {
  0x0002: 'GPSLatitude',
  0x0004: 'GPSLongitude',
  0x0006: 'GPSAltitude',
  0x0007: 'GPSTimeStamp',
  0x0011: 'GPSImgDirection',
  0x0018: 'GPSDestBearing',
};

/** Minimal reader of the byte view exifr keeps for a TIFF block (its BufferView). */
export interface TiffView {
  byteLength: number;
  getUint16(offset: number): number;
  getUint32(offset: number): number;
  getInt32(offset: number): number;
}

/**
 * The rationals of the GPS IFD at `gpsOffset`, read entry by entry. A damaged entry is skipped
 * (the GPS block's flag, if any, comes from exifr), so this never throws.
 */
export function readGpsRationals(view: TiffView, gpsOffset: number): Record<string, Rational[]> {
  const out: Record<string, Rational[]> = {};
  const inside = (o: number, n: number): boolean => Number.isInteger(o) && o >= 0 && o + n <= view.byteLength;
  if (!inside(gpsOffset, 2)) return out;
  const entries = view.getUint16(gpsOffset);
  for (let i = 0; i < Math.min(entries, 64); i++) {
    const e = gpsOffset + 2 + i * 12;
    if (!inside(e, 12)) break;
    const name = GPS_RATIONAL_TAGS[view.getUint16(e)];
    const type = view.getUint16(e + 2);
    const count = view.getUint32(e + 4);
    if (!name || (type !== 5 && type !== 10) || count < 1 || count > 8) continue;
    const at = view.getUint32(e + 8);
    if (!inside(at, count * 8)) continue;
    const values: Rational[] = [];
    for (let k = 0; k < count; k++) {
      const o = at + k * 8;
      values.push(type === 5 ? [view.getUint32(o), view.getUint32(o + 4)] : [view.getInt32(o), view.getInt32(o + 4)]);
    }
    out[name] = values;
  }
  return out;
}

type Block = Record<string, unknown> | undefined;

function str(v: unknown): string | null {
  if (typeof v === 'string') {
    const t = v.replace(/\0+$/, '').trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if ((Array.isArray(v) || ArrayBuffer.isView(v)) && (v as ArrayLike<unknown>).length === 1) return num((v as ArrayLike<unknown>)[0]);
  return null;
}

function nums(v: unknown): number[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const out = v.map(num);
  return out.every((x): x is number => x !== null) ? out : null;
}

const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;

/**
 * The UTC instant of an EXIF date, only when an offset states the zone. A date without one is
 * the camera's wall clock in an unknown zone: any UTC reading of it would be a guess.
 */
export function utcReading(stated: string, offset: string | null, subSec: string | null): string | null {
  const d = EXIF_DATE.exec(stated);
  const o = offset ? OFFSET.exec(offset) : null;
  if (!d || !o) return null;
  const [, y, mo, da, h, mi, s] = d.map(Number) as [number, number, number, number, number, number, number];
  const oh = Number(o[2]);
  const om = Number(o[3]);
  if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || s > 59 || oh > 14 || om > 59) return null;
  const local = Date.UTC(y, mo - 1, da, h, mi, s);
  const check = new Date(local);
  if (check.getUTCDate() !== da) return null; // 31 February and the like
  const sign = o[1] === '-' ? -1 : 1;
  const ms = subSec && /^\d+$/.test(subSec) ? Math.floor(Number(`0.${subSec}`) * 1000) : 0;
  return new Date(local - sign * (oh * 60 + om) * 60_000 + ms).toISOString();
}

function statedDate(stated: unknown, offset: unknown, subSec: unknown, offsetTag: string, subSecTag: string): StatedDate | null {
  const s = str(stated);
  if (s === null) return null;
  const o = str(offset);
  const ss = str(subSec);
  return { stated: s, subSec: ss, subSecTag: ss === null ? null : subSecTag, offset: o, offsetTag: o === null ? null : offsetTag, utc: utcReading(s, o, ss) };
}

/** Decimal degrees from degrees/minutes/seconds and a ref; negative south and west. */
function decimal(dms: number[] | null, ref: string | null, negative: string): number | null {
  if (!dms || dms.length === 0) return null;
  const [d = 0, m = 0, s = 0] = dms;
  const value = d + m / 60 + s / 3600;
  if (!Number.isFinite(value)) return null;
  return ref?.toUpperCase().startsWith(negative) ? -value : value;
}

function gpsFacts(gps: Block, rationals: Record<string, Rational[]>): StatedGps | null {
  if (!gps) return null;
  const latRef = str(gps.GPSLatitudeRef);
  const lonRef = str(gps.GPSLongitudeRef);
  const lat = nums(gps.GPSLatitude);
  const lon = nums(gps.GPSLongitude);
  const altitude = num(gps.GPSAltitude);
  const altitudeRef = num(gps.GPSAltitudeRef);
  const direction = num(gps.GPSImgDirection);
  const dateStamp = str(gps.GPSDateStamp);
  const time = nums(gps.GPSTimeStamp);
  let utc: string | null = null;
  const dm = dateStamp ? /^(\d{4}):(\d{2}):(\d{2})$/.exec(dateStamp) : null;
  if (dm && time && time.length === 3) {
    const [h = 0, m = 0, s = 0] = time;
    const t = Date.UTC(Number(dm[1]), Number(dm[2]) - 1, Number(dm[3]), h, m, 0) + Math.round(s * 1000);
    if (Number.isFinite(t) && h < 24 && m < 60 && s < 61) utc = new Date(t).toISOString();
  }
  const out: StatedGps = {
    source: 'exif',
    latitude: lat ? { stated: rationals.GPSLatitude ?? null, degrees: lat, ref: latRef } : null,
    longitude: lon ? { stated: rationals.GPSLongitude ?? null, degrees: lon, ref: lonRef } : null,
    decimal: null,
    datum: str(gps.GPSMapDatum),
    dateStamp,
    timeStamp: time ? { stated: rationals.GPSTimeStamp ?? null, values: time } : null,
    utc,
    altitude: altitude === null ? null : { stated: rationals.GPSAltitude?.[0] ?? null, ref: altitudeRef, metres: altitudeRef === 1 ? -altitude : altitude },
    direction: direction === null ? null : { stated: rationals.GPSImgDirection?.[0] ?? null, ref: str(gps.GPSImgDirectionRef), degrees: direction },
  };
  const la = decimal(lat, latRef, 'S');
  const lo = decimal(lon, lonRef, 'W');
  if (la !== null && lo !== null && Math.abs(la) <= 90 && Math.abs(lo) <= 180) out.decimal = { latitude: la, longitude: lo };
  const empty = !out.latitude && !out.longitude && !out.altitude && !out.direction && !out.dateStamp && !out.timeStamp && !out.datum;
  return empty ? null : out;
}

/** XMP writes GPS as `DDD,MM.mmmmK` or `DDD,MM,SSK` (exif namespace); the string is kept as stated. */
function xmpCoordinate(v: unknown): { stated: string; decimal: number } | null {
  const s = str(v);
  const m = s ? /^(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])$/i.exec(s) : null;
  if (!s || !m) return null;
  const value = Number(m[1]) + Number(m[2]) / 60 + (m[3] ? Number(m[3]) / 3600 : 0);
  return { stated: s, decimal: /[SW]/i.test(m[4]!) ? -value : value };
}

function xmpGps(xmpExif: Block): StatedGps | null {
  if (!xmpExif) return null;
  const lat = xmpCoordinate(xmpExif.GPSLatitude);
  const lon = xmpCoordinate(xmpExif.GPSLongitude);
  if (!lat || !lon) return null;
  return {
    source: 'xmp',
    latitude: { stated: null, statedText: lat.stated, degrees: null, ref: null },
    longitude: { stated: null, statedText: lon.stated, degrees: null, ref: null },
    decimal: Math.abs(lat.decimal) <= 90 && Math.abs(lon.decimal) <= 180 ? { latitude: lat.decimal, longitude: lon.decimal } : null,
    datum: str(xmpExif.GPSMapDatum),
    dateStamp: null,
    timeStamp: null,
    utc: null,
    altitude: null,
    direction: null,
  };
}

/**
 * Facts from raw (untranslated, unrevived) exifr blocks. `xmpExif` is XMP's exif namespace, used for
 * GPS only when the EXIF GPS block gives no position (files whose position lives only in XMP).
 */
export function imageFacts(
  raw: { ifd0?: Block; exif?: Block; gps?: Block; xmpExif?: Block },
  gpsRationals: Record<string, Rational[]>,
  dimensions: ImageFacts['dimensions'] = null,
): ImageFacts {
  const { ifd0, exif } = raw;
  const o = num(ifd0?.Orientation);
  let gps = gpsFacts(raw.gps, gpsRationals);
  if (!gps?.decimal) gps = xmpGps(raw.xmpExif) ?? gps;
  return {
    make: str(ifd0?.Make),
    model: str(ifd0?.Model),
    software: str(ifd0?.Software),
    dates: {
      DateTimeOriginal: statedDate(exif?.DateTimeOriginal, exif?.OffsetTimeOriginal, exif?.SubSecTimeOriginal, 'OffsetTimeOriginal', 'SubSecTimeOriginal'),
      CreateDate: statedDate(exif?.CreateDate ?? exif?.DateTimeDigitized, exif?.OffsetTimeDigitized, exif?.SubSecTimeDigitized, 'OffsetTimeDigitized', 'SubSecTimeDigitized'),
      ModifyDate: statedDate(ifd0?.ModifyDate ?? ifd0?.DateTime, exif?.OffsetTime, exif?.SubSecTime, 'OffsetTime', 'SubSecTime'),
    },
    orientation: o === null ? null : { value: o, label: ORIENTATION_LABELS[o] ?? null },
    gps,
    dimensions,
  };
}
