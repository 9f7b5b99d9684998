/* chunk.h -- LLM records → Log Analytics rows, 32 KB-chunked like APIM.
 *
 * Row 0 (SequenceNumber 0) carries every column of the call, including the
 * token, model and deployment columns that only it has, so that
 * `where coalesce(SequenceNumber, 0) == 0` gives one row per call. When
 * RequestMessages or ResponseMessages is longer than the chunk size as JSON
 * text (after escaping), it leaves row 0 and its text is split into rows
 * 1..n (request chunks first, then response chunks) that carry
 * CorrelationId, RecordId, TimeGenerated, SequenceNumber, MessageChunk
 * ("request"/"response") and the text piece. Chunks are cut on UTF-8
 * character boundaries. A message longer than the message cap (2 MB) is cut
 * there and flagged (RequestMessagesTruncated / ResponseMessagesTruncated). */
#ifndef LT_CHUNK_H
#define LT_CHUNK_H

#include <jansson.h>
#include <stddef.h>
#include "upload_cfg.h"

/* Rows for one LLM record (a JSON array; caller owns it), cut by
 * cfg->chunk_bytes and cfg->message_cap ([upload] settings, whose defaults
 * are in upload_cfg.c). Gateway records are passed through as a one-row array. */
json_t *lt_chunk_rows(const lt_upload_cfg *cfg, json_t *record);

/* Longest prefix of s (at most max bytes) that ends on a UTF-8 boundary and
 * whose JSON-escaped form fits in max_escaped bytes. */
size_t lt_chunk_utf8_prefix(const char *s, size_t len, size_t max_escaped);

#endif
