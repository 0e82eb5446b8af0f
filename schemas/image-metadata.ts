import { z } from 'zod';
import { ArtifactFlag, IMAGE_METADATA_BLOCKS } from './artifact.js';
import { Sha256Digest } from './common.js';

/** A rational as the file states it: `[numerator, denominator]`. */
const Rational = z.tuple([z.number(), z.number()]);

/** One EXIF date as stated, with the tags that qualify it, and a UTC reading only when an offset is stated. */
export const StatedDate = z.object({
  /** The raw EXIF string, e.g. `2018:07:25 16:34:23`. */
  stated: z.string(),
  subSec: z.string().nullable(),
  /** Which tag the sub-seconds came from, e.g. `SubSecTimeOriginal`. */
  subSecTag: z.string().nullable(),
  /** The stated offset, e.g. `+02:00` (EXIF 2.31 `OffsetTime*`). */
  offset: z.string().nullable(),
  offsetTag: z.string().nullable(),
  /** Our reading as UTC; null when no offset is stated (the zone is then unknown) or the string is not a date. */
  utc: z.string().nullable(),
});
export type StatedDate = z.infer<typeof StatedDate>;

const Coordinate = z.object({
  /** EXIF: the degree, minute and second rationals as stated. */
  stated: z.array(Rational).nullable(),
  /** XMP: the coordinate text as stated, e.g. `30,37.659N`. */
  statedText: z.string().optional(),
  /** EXIF: degrees, minutes, seconds as numbers. */
  degrees: z.array(z.number()).nullable(),
  /** EXIF `GPSLatitudeRef` / `GPSLongitudeRef` as stated (`N`, `S`, `E`, `W`). */
  ref: z.string().nullable(),
});

/** GPS as stated (rationals and refs), beside the decimal reading. */
export const StatedGps = z.object({
  /** Where the position was read: the EXIF GPS IFD, or XMP when the file has no EXIF position. */
  source: z.enum(['exif', 'xmp']),
  latitude: Coordinate.nullable(),
  longitude: Coordinate.nullable(),
  /** Decimal degrees, negative south and west; null when the stated values are not a position. */
  decimal: z.object({ latitude: z.number(), longitude: z.number() }).nullable(),
  datum: z.string().nullable(),
  /** `GPSDateStamp` as stated, e.g. `2018:07:25`. */
  dateStamp: z.string().nullable(),
  timeStamp: z.object({ stated: z.array(Rational).nullable(), values: z.array(z.number()) }).nullable(),
  /** GPS date and time as UTC (the GPS clock is UTC by the EXIF standard). */
  utc: z.string().nullable(),
  altitude: z.object({ stated: Rational.nullable(), ref: z.number().nullable(), metres: z.number() }).nullable(),
  direction: z.object({ stated: Rational.nullable(), ref: z.string().nullable(), degrees: z.number() }).nullable(),
});
export type StatedGps = z.infer<typeof StatedGps>;

/** The core facts of an image, each as its file states it and then as read. */
export const ImageFacts = z.object({
  make: z.string().nullable(),
  model: z.string().nullable(),
  software: z.string().nullable(),
  dates: z.object({ DateTimeOriginal: StatedDate.nullable(), CreateDate: StatedDate.nullable(), ModifyDate: StatedDate.nullable() }),
  orientation: z.object({ value: z.number().int(), label: z.string().nullable() }).nullable(),
  gps: StatedGps.nullable(),
  /** Pixel size as stored (before any orientation), from the image header; `tool` says who read it. */
  dimensions: z.object({ width: z.number().int(), height: z.number().int(), tool: z.string() }).nullable(),
});
export type ImageFacts = z.infer<typeof ImageFacts>;

/** A metadata block that could not be read, named: the rest of the file's metadata is still kept. */
export const MetadataBlockFlag = ArtifactFlag.required({ block: true });
export type MetadataBlockFlag = z.infer<typeof MetadataBlockFlag>;

/**
 * The derived `*.exif.json` artifact of an image: every block the tool could read (`data`, grouped
 * by block, values as read), the core `facts` as stated, and a flag for each block that could not be
 * read (`blocks` says which blocks were tried).
 */
export const ImageMetadataDocument = z.object({
  schemaVersion: z.literal('exhibit.image-metadata/1'),
  source: z.string(),
  sourceSha256: Sha256Digest,
  tool: z.string(),
  blocks: z.array(z.enum(IMAGE_METADATA_BLOCKS)),
  data: z.record(z.string(), z.unknown()),
  facts: ImageFacts,
  flags: z.array(MetadataBlockFlag),
});
export type ImageMetadataDocument = z.infer<typeof ImageMetadataDocument>;
