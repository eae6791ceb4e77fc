import { codesystemLookupOperation } from './codesystem-lookup.ts';
import { codesystemSubsumesOperation } from './codesystem-subsumes.ts';
import { codesystemValidateCodeOperation } from './codesystem-validate-code.ts';
import { conceptmapTranslateOperation } from './conceptmap-translate.ts';
import type { OperationDef } from './types.ts';
import {
  codesystemBatchValidateCodeOperation,
  valuesetBatchValidateCodeOperation,
} from './valueset-batch-validate-code.ts';
import { valuesetExpandOperation } from './valueset-expand.ts';
import { valuesetCompareOperation, valuesetRelatedOperation } from './valueset-related.ts';
import { valuesetValidateCodeOperation } from './valueset-validate-code.ts';
import { versionsOperation } from './versions.ts';

/**
 * Every FHIR operation the server offers. This one list feeds both the Express routes (app.ts) and
 * the CapabilityStatement (metadata.ts), so the two cannot drift (STYLE.md example 4).
 * To add an operation: import its OperationDef and add it below; nothing else changes.
 */
export const operations: OperationDef[] = [
  versionsOperation,
  codesystemLookupOperation,
  codesystemSubsumesOperation,
  conceptmapTranslateOperation,
  valuesetExpandOperation,
  codesystemValidateCodeOperation,
  valuesetValidateCodeOperation,
  valuesetBatchValidateCodeOperation,
  codesystemBatchValidateCodeOperation,
  valuesetCompareOperation,
  valuesetRelatedOperation,
];
