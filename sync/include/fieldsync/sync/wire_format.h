// fieldsync/sync/wire_format.h: the bytes of the sync protocol, shared by the tablet and the
// server.
//
// This header turns the messages of protocol v1 (docs/protocol.md, which gives every endpoint,
// status code and byte with the reason for it) into compact JSON and back:
//
//   Change        merge.h's unit of replication, with short member names ("i", "c", "r", "h",
//                 "f", ...) because a push of 1,000 edits repeats them 1,000 times;
//   PushRequest / PushResponse, PullResponse, LoginRequest / LoginResponse, RefreshRequest,
//                 WipeDoneRequest, LimitsResponse and ErrorBody, whose envelope members are
//                 spelled out (they occur once per message);
//   Cursor        the server's opaque, HMAC-authenticated position in its change feed;
//   Gzip/Gunzip   the "gzip" content coding, with a cap on the decompressed size.
//
// Decoding is strict where the sender is the party being checked: a request, and every Change
// wherever it appears, is refused on an unknown member, a missing member, a wrong type, a repeated
// member, nesting deeper than DecodeLimits::max_depth or more bytes than max_bytes. Response
// envelopes tolerate unknown members, so a newer server can add information an older tablet may
// ignore; a Change never does, because ignoring a member that carries meaning would make replicas
// diverge. Every decode error is an InvalidArgument naming the path of the first bad member in the
// decoder's checking order, e.g. "changes[3].f.grade.b[0][0]: expected an unsigned integer".
//
//   PushRequest push{node_id, schema.version(), changes};
//   std::string body = EncodePushRequest(push);                  // never fails
//   Result<PushRequest> back = DecodePushRequest(body, limits);  // InvalidArgument names the path
//
// Decoders never throw: anything thrown inside them, allocation failure included, comes back as
// a Status, and so do Gzip and Gunzip. Encoders and the cursor functions throw nothing but
// std::bad_alloc, like any std::string growth.
// Encoders replace invalid UTF-8 in strings with U+FFFD instead of failing; the core validates
// text before it reaches the outbox, so this only matters for a caller that bypasses it.
//
// Every response envelope carries the server's clock as "time_ms" (server_time_ms here).
//
// Thread safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fieldsync/status.h"
#include "fieldsync/sync/merge.h"

namespace fieldsync::sync {

// The protocol version, the "/v1" of every path. A change that old tablets cannot ignore safely
// (a new member of Change, a new meaning for an existing member) needs a new version.
inline constexpr int kProtocolVersion = 1;
inline constexpr char kJsonContentType[] = "application/json";

// Bodies smaller than this are sent uncompressed: gzip adds 18 bytes of framing and its output
// only starts to be shorter than its input at a few hundred bytes of JSON.
inline constexpr size_t kGzipMinBytes = 1024;

// Bounds applied while decoding, before any member is looked at. A safety net: the server
// enforces its announced Limits itself first (Content-Length, Gunzip's cap, then the number of
// decoded changes) and answers 413; anything these bounds catch is a 400.
struct DecodeLimits {
  size_t max_bytes = size_t{8} << 20;  // the whole message; above: InvalidArgument
  int max_depth = 32;                  // arrays and objects nested inside each other
  size_t max_changes = 10000;          // changes, results, evicted records or teams
};

// ---- changes ------------------------------------------------------------------------------------

// The canonical encoding of one change: every member explicit ("n" and "s" included), members in
// a fixed order, values' object members sorted. Used for storage and for ChangeDigest.
std::string EncodeChange(const Change& change);
Result<Change> DecodeChange(std::string_view json, const DecodeLimits& limits = {});

// Hex SHA-256 of the canonical encoding without the author, which the server sets: two changes
// are "the same change" for idempotency when their digests are equal. A change id pushed again
// with another digest is refused (PushResult code "change_id_reused").
std::string ChangeDigest(const Change& change);

// ---- push: POST /v1/push ------------------------------------------------------------------------

// Every change of a push defaults to the request's node and schema version; a change that differs
// (an outbox row queued before a schema upgrade) carries its own "n" or "s". Changes in a push
// may not carry an author ("a"): the server sets it from the token.
// On the wire: {"node":"...","schema":n,"changes":[...]}.
struct PushRequest {
  std::string node;  // the pushing replica's node id (Database::node_id())
  int schema_version = 1;
  std::vector<Change> changes;
};

std::string EncodePushRequest(const PushRequest& request);
Result<PushRequest> DecodePushRequest(std::string_view json, const DecodeLimits& limits = {});

// PushResult::code of a refused change (docs/protocol.md §3.4).
inline constexpr char kRefusedForbidden[] = "forbidden";        // Authorize() said no
inline constexpr char kRefusedInvalid[] = "invalid";            // Merge() said InvalidArgument
inline constexpr char kRefusedIdReused[] = "change_id_reused";  // same id, another digest
inline constexpr char kRefusedClockAhead[] = "clock_ahead";     // HLC too far in the future

enum class PushStatus {
  kApplied,    // stored now
  kDuplicate,  // stored before with the same digest (a replay): nothing to do
  kRefused,    // not stored, never will be as it is: `code` and `reason` say why
};

struct PushResult {
  std::string change_id;
  PushStatus status = PushStatus::kApplied;
  std::string code;    // kRefused only: "forbidden", "invalid", "change_id_reused", ...
  std::string reason;  // kRefused only: for people, e.g. "customers.credit_level is server_only"
};

// results[k] answers changes[k] of the request. On the wire:
// {"results":[{"i":"...","s":"applied"|"duplicate"|"refused","code":..,"reason":..}],"time_ms":n}.
struct PushResponse {
  std::vector<PushResult> results;
  int64_t server_time_ms = 0;
};

std::string EncodePushResponse(const PushResponse& response);
Result<PushResponse> DecodePushResponse(std::string_view json, const DecodeLimits& limits = {});

// ---- pull: GET /v1/pull?cursor=... --------------------------------------------------------------

struct RecordRef {
  std::string collection;
  std::string record_id;
  friend bool operator==(const RecordRef& a, const RecordRef& b) {
    return a.collection == b.collection && a.record_id == b.record_id;
  }
};

// Changes after the request's cursor, in feed order. Every change carries its node and schema
// version. On the wire: {"changes":[...],"evicted":[[c,r],...],"cursor":"...","more":true,
// "time_ms":n}, with "evicted" absent when empty and "more" absent when false. `evicted` lists
// records that left the puller's scope (partial replication): the tablet drops its copy without
// recording a delete, because the record still exists for others.
struct PullResponse {
  std::vector<Change> changes;
  // Encoder only, for a server that stores changes in their canonical encoding (EncodeChange):
  // written verbatim after `changes`, so a page of stored changes is sent without decoding and
  // re-encoding each one. The caller vouches that each is one EncodeChange output. Decoders
  // never fill it.
  std::vector<std::string> encoded_changes;
  std::vector<RecordRef> evicted;
  std::string next_cursor;  // opaque; pass it to the next pull
  bool has_more = false;    // more changes are ready now: pull again at once
  int64_t server_time_ms = 0;
};

std::string EncodePullResponse(const PullResponse& response);
Result<PullResponse> DecodePullResponse(std::string_view json, const DecodeLimits& limits = {});

// ---- limits: GET /v1/limits, and inside the login response -----------------------------------

struct Limits {
  uint32_t max_batch_changes = 1000;       // changes per push; changes per pull page
  uint64_t max_request_bytes = 4u << 20;   // a request body, compressed and decompressed
  uint64_t max_response_bytes = 4u << 20;  // a pull page before compression (>= request)
  friend bool operator==(const Limits& a, const Limits& b) {
    return a.max_batch_changes == b.max_batch_changes &&
           a.max_request_bytes == b.max_request_bytes &&
           a.max_response_bytes == b.max_response_bytes;
  }
};

struct LimitsResponse {
  Limits limits;
  int64_t server_time_ms = 0;
};

std::string EncodeLimitsResponse(const LimitsResponse& response);
Result<LimitsResponse> DecodeLimitsResponse(std::string_view json, const DecodeLimits& limits = {});

// ---- login: POST /v1/login ----------------------------------------------------------------------

struct DeviceInfo {
  std::string name;      // for people: "张伟的 iPad"
  std::string platform;  // "ios 17.2", "android 14"
  std::string id;        // the tablet's node id
};

struct LoginRequest {
  std::string user;
  std::string password;
  DeviceInfo device;
};

std::string EncodeLoginRequest(const LoginRequest& request);
Result<LoginRequest> DecodeLoginRequest(std::string_view json, const DecodeLimits& limits = {});

struct UserInfo {
  std::string id;
  Role role = Role::kRep;  // "rep", "manager" or "admin" on the wire; never kServer
  std::vector<std::string> teams;
};

// Also the answer of POST /v1/refresh. `token` is the short-lived access token (the bearer of
// every other request); `refresh_token` buys the next one (protocol §3.6). A server before
// refresh tokens sends none: `refresh_token` is then empty and the tablet logs in again instead.
struct LoginResponse {
  std::string token;  // opaque bearer (access) token
  int64_t expires_in_s = 0;
  UserInfo user;
  Limits limits;
  int64_t server_time_ms = 0;
  std::string refresh_token{};  // opaque; empty: none (the member is then not written)
  int64_t refresh_expires_in_s = 0;
};

std::string EncodeLoginResponse(const LoginResponse& response);
Result<LoginResponse> DecodeLoginResponse(std::string_view json, const DecodeLimits& limits = {});

// ---- tokens and devices: POST /v1/refresh, POST /v1/wipe-done (protocol §3.6, §3.8) ----------

struct RefreshRequest {
  std::string refresh_token;
};

std::string EncodeRefreshRequest(const RefreshRequest& request);
Result<RefreshRequest> DecodeRefreshRequest(std::string_view json, const DecodeLimits& limits = {});

// A revoked tablet's report that it erased its database: its node id and the receipt the
// server's device_revoked answer carried (ErrorBody::wipe_receipt).
struct WipeDoneRequest {
  std::string device;
  std::string receipt;
};

std::string EncodeWipeDoneRequest(const WipeDoneRequest& request);
Result<WipeDoneRequest> DecodeWipeDoneRequest(std::string_view json,
                                              const DecodeLimits& limits = {});

// ---- errors: the body of every 4xx and 5xx response --------------------------------------------

// The codes of docs/protocol.md §4, with the HTTP status each goes with.
inline constexpr char kErrorMalformed[] = "malformed";                  // 400
inline constexpr char kErrorBadCursor[] = "bad_cursor";                 // 400
inline constexpr char kErrorUnauthenticated[] = "unauthenticated";      // 401
inline constexpr char kErrorForbidden[] = "forbidden";                  // 403
inline constexpr char kErrorNotFound[] = "not_found";                   // 404
inline constexpr char kErrorMethodNotAllowed[] = "method_not_allowed";  // 405
inline constexpr char kErrorSchemaTooNew[] = "schema_too_new";          // 409
inline constexpr char kErrorCursorExpired[] = "cursor_expired";         // 410
inline constexpr char kErrorTooLarge[] = "too_large";                   // 413
inline constexpr char kErrorUnsupportedMedia[] = "unsupported_media";   // 415
inline constexpr char kErrorRateLimited[] = "rate_limited";             // 429
inline constexpr char kErrorInternal[] = "internal";                    // 500
inline constexpr char kErrorUnavailable[] = "unavailable";              // 503
// Tokens and devices (protocol §3.6-§3.8).
inline constexpr char kErrorTokenExpired[] = "token_expired";    // 401: refresh, then repeat
inline constexpr char kErrorTokenRevoked[] = "token_revoked";    // 401: log in again
inline constexpr char kErrorDeviceRevoked[] = "device_revoked";  // 403: erase, then wipe-done

struct ErrorBody {
  std::string code;     // snake_case, from the list above; clients act on it
  std::string message;  // for people and logs; clients never parse it
  int64_t server_time_ms = 0;
  // device_revoked: the tablet must erase its database and key, then report it with the receipt
  // (POST /v1/wipe-done). Written only when `wipe` is true.
  bool wipe = false;
  std::string wipe_receipt{};
};

std::string EncodeErrorBody(const ErrorBody& error);
Result<ErrorBody> DecodeErrorBody(std::string_view json, const DecodeLimits& limits = {});

// ---- back office: POST /v1/conflicts/{id}/resolve (docs/protocol.md §13) -----------------------

// The 400 code of the back-office endpoints for a well-formed request whose value the schema or
// the merge rules refuse (the `invalid` refusal of a push, as a whole-request error).
inline constexpr char kErrorInvalid[] = "invalid";  // 400

// {"value": <any JSON>}: the conflicted field's new value (null clears it). Strict like every
// request: "value" is required and no other member is allowed.
struct ResolveRequest {
  nlohmann::json value;
};

std::string EncodeResolveRequest(const ResolveRequest& request);
Result<ResolveRequest> DecodeResolveRequest(std::string_view json, const DecodeLimits& limits = {});

// Whether `id` is a change, record or node id as the wire carries them (§5.1): 1 to 128 bytes of
// A-Z a-z 0-9 - _ . : (node ids: at most 64). Ids reach URLs, logs and SQL; nothing outside
// this alphabet can name a stored record, so a path parameter outside it is malformed, not
// missing.
bool IsValidWireId(std::string_view id);
// Whether `name` is a collection or field name as the wire carries them: [a-z][a-z0-9_]{0,63}.
bool IsValidWireName(std::string_view name);

// ---- cursor ----------------------------------------------------------------------------------

// The server's position in its change feed. Clients treat the encoded form as an opaque string.
struct Cursor {
  uint64_t watermark = 0;    // every feed entry with a sequence <= watermark has been delivered
  uint32_t feed_epoch = 0;   // the feed's identity: changes when the feed is rebuilt or restored
  uint32_t scope_epoch = 0;  // the generation of the puller's replication scope it was minted for
  friend bool operator==(const Cursor& a, const Cursor& b) {
    return a.watermark == b.watermark && a.feed_epoch == b.feed_epoch &&
           a.scope_epoch == b.scope_epoch;
  }
};

// base64url (no padding) of: version byte 1, watermark (8 bytes big-endian), feed_epoch (4),
// scope_epoch (4), then the first 16 bytes of HMAC-SHA256(key, "fieldsync cursor v1\0" || the 17
// bytes before). 44 characters. `key` is the server's secret, at least 32 bytes; shorter keys are
// InvalidArgument. Internal if OpenSSL fails. The server passes a per-user key (HMAC of its secret
// and the user id), so that a cursor is only valid for the user it was minted for.
inline constexpr size_t kMinCursorKeyBytes = 32;
Result<std::string> EncodeCursor(const Cursor& cursor, std::string_view key);
// InvalidArgument if `text` is not a cursor made with `key` (wrong length, alphabet or version, or
// a tag mismatch: tampered, or minted under another key).
Result<Cursor> DecodeCursor(std::string_view text, std::string_view key);

// ---- gzip (RFC 1952), the only Content-Encoding besides identity -----------------------------

Result<std::string> Gzip(std::string_view data);
// Decompresses one or more concatenated gzip members. InvalidArgument if the input is not gzip,
// is truncated or corrupt, or would decompress to more than `max_output` bytes (decompression
// stops there: a few KB of gzip can expand to gigabytes).
Result<std::string> Gunzip(std::string_view data, size_t max_output);

}  // namespace fieldsync::sync
