import { z } from 'zod';
import { AnnotationsDocument } from './annotation.js';
import { ApiError, CaptureDetail, CaptureList, CaptureStatusBody, PackageJob, PackageRequest, SubmitRequest, SubmitResponse, VerifyResponse } from './api.js';
import { CaptureRequest } from './capture.js';
import { Config } from './config.js';
import { CustodyEvent, CustodyHead, ElidedCustodyEvent, PackageReport, SignatureRecord, TimestampRecord } from './custody.js';
import { CaseGraphDocument } from './graph.js';
import { ImageMetadataDocument } from './image-metadata.js';
import { CapturePayload, SealPayload, SealResult } from './jobs.js';
import { StoredCaptureManifest } from './manifest.js';
import { PostDocument } from './post.js';
import { ShareRecord } from './share.js';
import { KeyRotation, PackageContentManifest, PackageSeal, PartnersFile, TrustStoreFile } from './trust.js';
import { SearchResponse } from './search.js';
import { WatchWebhookPayload } from './watch.js';

/** The documents outside verifiers may want to validate, by file name under schemas/json/. */
export const PUBLISHED_SCHEMAS: Record<string, z.ZodType> = {
  'capture-request': CaptureRequest,
  'capture-manifest': StoredCaptureManifest,
  'image-metadata': ImageMetadataDocument,
  'custody-event': CustodyEvent,
  'custody-elided': ElidedCustodyEvent,
  'custody-head': CustodyHead,
  signature: SignatureRecord,
  timestamp: TimestampRecord,
  'verify-report': PackageReport,
  'package-content': PackageContentManifest,
  'package-seal': PackageSeal,
  'key-rotation': KeyRotation,
  'trust-store': TrustStoreFile,
  partners: PartnersFile,
  'share-record': ShareRecord,
  'capture-job': CapturePayload,
  'seal-job': SealPayload,
  'seal-result': SealResult,
  config: Config,
  post: PostDocument,
  'case-graph': CaseGraphDocument,
  annotations: AnnotationsDocument,
  'api-error': ApiError,
  'api-submit-request': SubmitRequest,
  'api-submit-response': SubmitResponse,
  'api-capture-status': CaptureStatusBody,
  'api-capture-list': CaptureList,
  'api-capture-detail': CaptureDetail,
  'api-package-request': PackageRequest,
  'api-package-job': PackageJob,
  'api-verify-response': VerifyResponse,
  'api-search-response': SearchResponse,
  'watch-webhook-payload': WatchWebhookPayload,
};

/** JSON Schema text for one published schema, stable across runs (what is checked in). */
export function jsonSchemaText(name: string, schema: z.ZodType): string {
  const doc = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return `${JSON.stringify({ $id: `https://exhibit.invalid/schemas/${name}.schema.json`, title: name, ...doc }, null, 2)}\n`;
}
