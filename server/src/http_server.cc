// server/src/http_server.cc: routes, body limits, compression and JSON errors (http_server.h).
//
// IMPLEMENTATION NOTES (cpp-httplib 0.11.4)
//   Request bodies. The body endpoints use content-reader handlers, so the body is read by us, in
//   chunks, with a running cap at max_request_bytes: a Content-Length above the limit is refused
//   by cpp-httplib itself (payload_max_length, status 413; it discards the body unbuffered to
//   keep the connection in step, so "without reading" in §9 holds only for memory), and a body
//   without a length (chunked) or one that decompresses beyond the cap stops at the cap (413).
//   cpp-httplib always inflates a request's gzip (and deflate/br) coding itself, so the cap counts
//   decompressed bytes, which is what protocol §9 asks; any coding but gzip/identity gets 415
//   after the capped read (reading it keeps the keep-alive connection in step).
//   Response compression. cpp-httplib gzips (or brotli-compresses) every compressible response
//   when the request's Accept-Encoding allows, however small. The protocol wants gzip only and
//   only from kGzipMinBytes (§11), so a pre-routing handler moves Accept-Encoding out of
//   cpp-httplib's sight (into kAcceptGzipHeader) and the handlers compress themselves.
//   Errors cpp-httplib produces on its own (unknown path, 413, bad request line) get their JSON
//   body from the error handler, which leaves bodies our handlers wrote alone.
//   TCP_NODELAY is on (see Routes): otherwise Nagle's algorithm and the client's delayed ACK add
//   up to 40 ms to a response written in two parts, which is most of a small sync round.
//   Nothing here logs request bodies, headers, passwords or tokens.
#include "http_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <thread>

#include "audit.h"

namespace fieldsync::server {
namespace {

// Set by the pre-routing handler when Accept-Encoding allowed gzip; never sent by clients (a
// client that sends it only gets what it asked for).
constexpr char kAcceptGzipHeader[] = "X-Fieldsync-Internal-Accept-Gzip";

void Send(const SyncService* service, const httplib::Request& req, httplib::Response& res,
          int status, std::string body) {
  res.status = status;
  if (body.size() >= sync::kGzipMinBytes && req.has_header(kAcceptGzipHeader)) {
    Result<std::string> gz = sync::Gzip(body);
    if (gz.ok()) {
      res.set_header("Content-Encoding", "gzip");
      body = std::move(*gz);
    }
  }
  (void)service;
  res.set_content(std::move(body), sync::kJsonContentType);
}

// `retry_after_s` (429, 503): the Retry-After header, in whole seconds.
void SendError(const SyncService* service, const httplib::Request& req, httplib::Response& res,
               int status, const std::string& code, const std::string& message,
               int64_t retry_after_s = 5) {
  sync::ErrorBody error{code, message, service->NowMs()};
  if (status == 429 || status == 503) res.set_header("Retry-After", std::to_string(retry_after_s));
  Send(service, req, res, status, sync::EncodeErrorBody(error));
}

void SendApiError(const SyncService* service, const httplib::Request& req, httplib::Response& res,
                  const ApiError& error) {
  if (!error.wipe) {
    SendError(service, req, res, error.http_status, error.code, error.message);
    return;
  }
  sync::ErrorBody body{error.code, error.message, service->NowMs()};
  body.wipe = true;
  body.wipe_receipt = error.wipe_receipt;
  Send(service, req, res, error.http_status, sync::EncodeErrorBody(body));
}

// The body of an endpoint that answers only "done": {"time_ms":...}.
void SendDone(const SyncService* service, const httplib::Request& req, httplib::Response& res) {
  nlohmann::json body = {{"time_ms", service->NowMs()}};
  Send(service, req, res, 200, body.dump());
}

// The body, read with the cap; false after answering the error.
bool ReadBody(const SyncService* service, const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader, std::string* body) {
  const uint64_t cap = service->limits().max_request_bytes;
  bool over = false;
  const bool complete = reader([&](const char* data, size_t n) {
    if (body->size() + n > cap) {
      over = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
  if (over || res.status == 413) {
    SendError(service, req, res, 413, sync::kErrorTooLarge,
              "message: body above the limit of " + std::to_string(cap) + " bytes");
    return false;
  }
  if (!complete) {
    SendError(service, req, res, 400, sync::kErrorMalformed,
              "message: the body could not be read (truncated or corrupt gzip)");
    return false;
  }
  // Checked after reading, so the connection stays usable for the next request.
  if (req.has_header("Content-Encoding")) {
    const std::string coding = req.get_header_value("Content-Encoding");
    if (coding != "gzip" && coding != "identity") {
      SendError(service, req, res, 415, sync::kErrorUnsupportedMedia,
                "Content-Encoding: only gzip or identity");
      return false;
    }
  }
  std::string type = req.get_header_value("Content-Type");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  if (type != "application/json" && type != "application/json;charset=utf-8") {
    SendError(service, req, res, 415, sync::kErrorUnsupportedMedia,
              "Content-Type: application/json expected");
    return false;
  }
  return true;
}

// The principal of the request's bearer token; false after answering the error.
bool Authenticated(const SyncService* service, const httplib::Request& req, httplib::Response& res,
                   Principal* principal) {
  const std::string header = req.get_header_value("Authorization");
  static constexpr char kBearer[] = "Bearer ";
  std::string token;
  if (header.rfind(kBearer, 0) == 0) token = header.substr(sizeof(kBearer) - 1);
  ApiResult<Principal> p = service->Authenticate(token);
  if (!p.ok()) {
    SendApiError(service, req, res, p.error());
    return false;
  }
  *principal = std::move(p.value());
  return true;
}

sync::DecodeLimits RequestDecodeLimits(const SyncService* service) {
  sync::DecodeLimits limits;
  limits.max_bytes = service->limits().max_request_bytes;
  // One more than the batch limit, so an oversized batch decodes and is answered 413 (§9).
  limits.max_changes = size_t{service->limits().max_batch_changes} + 1;
  return limits;
}

// A decimal query parameter in [lo, hi]; false if absent-but-required or malformed.
bool UintParam(const httplib::Request& req, const char* name, uint64_t lo, uint64_t hi,
               uint64_t* out) {
  if (req.get_param_value_count(name) != 1) return false;
  const std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 10) return false;
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + static_cast<uint64_t>(c - '0');
  }
  if (x < lo || x > hi) return false;
  *out = x;
  return true;
}

// ---- back office (protocol §13): records, conflicts, resolutions, the audit trail ----

using OJson = nlohmann::ordered_json;

std::string DumpJson(const OJson& j) {
  return j.dump(-1, ' ', false, OJson::error_handler_t::replace);
}

OJson ConflictJson(const sync::Conflict& c) {
  OJson heads = OJson::array();
  for (const sync::RegisterValue& h : c.heads) {
    OJson head = OJson::object();
    head["value"] =
        OJson::parse(h.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    head["author"] = h.author;
    head["node"] = h.version.node;
    head["time"] = UtcTimeMs(static_cast<int64_t>(h.version.hlc.physical_ms()));
    head["hlc"] = h.version.hlc.packed();
    heads.push_back(std::move(head));
  }
  OJson j = OJson::object();
  j["id"] = c.id;
  j["collection"] = c.collection;
  j["record_id"] = c.record_id;
  j["field"] = c.field;
  j["heads"] = std::move(heads);
  return j;
}

// {"collection","id","record","conflicts"}; the caller adds its members and "time_ms".
OJson RecordViewJson(const RecordView& view) {
  OJson j = OJson::object();
  j["collection"] = view.collection;
  j["id"] = view.id;
  j["record"] =
      OJson::parse(view.record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  OJson conflicts = OJson::array();
  for (const sync::Conflict& c : view.conflicts) conflicts.push_back(ConflictJson(c));
  j["conflicts"] = std::move(conflicts);
  return j;
}

void BackOfficeRoutes(httplib::Server& http, const SyncService* svc) {
  // The path parameters arrive percent-decoded; the service refuses any outside the id alphabet
  // (400) before a lookup, and answers every kind of absence with one 404 body.
  http.Get(R"(/v1/records/([^/]+)/([^/]+))",
           [svc](const httplib::Request& req, httplib::Response& res) {
             Principal principal;
             if (!Authenticated(svc, req, res, &principal)) return;
             ApiResult<RecordView> out = svc->GetRecord(principal, req.matches[1], req.matches[2]);
             if (!out.ok()) {
               SendApiError(svc, req, res, out.error());
               return;
             }
             OJson body = RecordViewJson(out.value());
             body["time_ms"] = svc->NowMs();
             Send(svc, req, res, 200, DumpJson(body));
           });

  http.Get("/v1/conflicts", [svc](const httplib::Request& req, httplib::Response& res) {
    Principal principal;
    if (!Authenticated(svc, req, res, &principal)) return;
    uint64_t limit = 0;
    if (req.has_param("limit") && !UintParam(req, "limit", 1, UINT32_MAX, &limit)) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "limit: expected 1 or more");
      return;
    }
    if (req.get_param_value_count("after") > 1) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "after: given twice");
      return;
    }
    ApiResult<ConflictPage> out =
        svc->ListConflicts(principal, req.get_param_value("after"), static_cast<uint32_t>(limit));
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    OJson body = OJson::object();
    OJson conflicts = OJson::array();
    for (const sync::Conflict& c : out.value().conflicts) conflicts.push_back(ConflictJson(c));
    body["conflicts"] = std::move(conflicts);
    if (out.value().more) body["more"] = true;
    body["time_ms"] = svc->NowMs();
    Send(svc, req, res, 200, DumpJson(body));
  });

  http.Post(R"(/v1/conflicts/([^/]+)/resolve)", [svc](const httplib::Request& req,
                                                      httplib::Response& res,
                                                      const httplib::ContentReader& reader) {
    std::string body;
    if (!ReadBody(svc, req, res, reader, &body)) return;
    Principal principal;
    if (!Authenticated(svc, req, res, &principal)) return;
    Result<sync::ResolveRequest> resolve =
        sync::DecodeResolveRequest(body, RequestDecodeLimits(svc));
    if (!resolve.ok()) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, resolve.status().message());
      return;
    }
    ApiResult<ResolveOutcome> out = svc->ResolveConflict(principal, req.matches[1], resolve->value);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    OJson answer = OJson::object();
    answer["change_id"] = out.value().change_id;
    const OJson view = RecordViewJson(out.value().record);  // items() must not outlive it
    for (const auto& [key, value] : view.items()) answer[key] = value;
    answer["time_ms"] = svc->NowMs();
    Send(svc, req, res, 200, DumpJson(answer));
  });

  http.Get("/v1/audit", [svc](const httplib::Request& req, httplib::Response& res) {
    Principal principal;
    if (!Authenticated(svc, req, res, &principal)) return;
    AuditFilter filter;
    for (const char* name : {"record", "user", "after", "limit"}) {
      if (req.get_param_value_count(name) > 1) {
        SendError(svc, req, res, 400, sync::kErrorMalformed, std::string(name) + ": given twice");
        return;
      }
    }
    if (req.has_param("record")) {
      // Subjects of admin actions (user/<login name>) are not wire ids: any UTF-8 is data here.
      const std::string record = req.get_param_value("record");
      const size_t slash = record.find('/');
      if (!IsUtf8(record) || record.size() > 512 || slash == std::string::npos || slash == 0 ||
          slash + 1 == record.size()) {
        SendError(svc, req, res, 400, sync::kErrorMalformed,
                  "record: expected COLLECTION/ID in UTF-8, at most 512 bytes");
        return;
      }
      filter.collection = record.substr(0, slash);
      filter.record_id = record.substr(slash + 1);
    }
    if (req.has_param("user")) {
      filter.user = req.get_param_value("user");
      if (filter.user.empty() || filter.user.size() > 200 || !IsUtf8(filter.user)) {
        SendError(svc, req, res, 400, sync::kErrorMalformed,
                  "user: expected 1 to 200 bytes of UTF-8");
        return;
      }
    }
    uint64_t after = 0, limit = 0;
    if (req.has_param("after") && !UintParam(req, "after", 0, uint64_t{9999999999}, &after)) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "after: expected a sequence number");
      return;
    }
    if (req.has_param("limit") && !UintParam(req, "limit", 1, 1000, &limit)) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "limit: expected 1 to 1000");
      return;
    }
    filter.after_seq = after;
    filter.limit = static_cast<size_t>(limit);
    ApiResult<AuditPage> out = svc->ReadAudit(principal, filter);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    OJson body = OJson::object();
    OJson entries = OJson::array();
    for (const AuditRow& row : out.value().rows) entries.push_back(AuditRowToJson(row));
    body["entries"] = std::move(entries);
    if (out.value().more) body["more"] = true;
    body["time_ms"] = svc->NowMs();
    Send(svc, req, res, 200, DumpJson(body));
  });
}

}  // namespace

namespace {

std::unique_ptr<httplib::Server> NewServer(const HttpServerOptions& options, std::string* error) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    return std::make_unique<httplib::Server>();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    *error = "TLS needs both a certificate and a key file";
    return std::make_unique<httplib::Server>();
  }
  auto tls = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                  options.tls_key_file.c_str());
  if (!tls->is_valid()) {
    // Names the files, never their content.
    *error = "cannot load the TLS certificate " + options.tls_cert_file + " with the key " +
             options.tls_key_file + " (missing, unreadable, not PEM, or not a matching pair)";
  }
  return tls;
}

}  // namespace

HttpServer::HttpServer(const SyncService* service, HttpServerOptions options)
    : service_(service), login_limiter_(options.login_limits, options.clock) {
  http_ = NewServer(options, &setup_error_);
  Routes();
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Routes() {
  const SyncService* svc = service_;
  LoginRateLimiter* limiter = &login_limiter_;
  httplib::Server& http = *http_;
  http.set_payload_max_length(static_cast<size_t>(svc->limits().max_request_bytes));
  // cpp-httplib writes a response's headers and body in separate send() calls. With Nagle on,
  // the body waits for the ACK of the headers, which the client delays by up to 40 ms: every
  // small sync round paid it. Requests and responses are whole messages, so send at once.
  http.set_tcp_nodelay(true);

  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    // See IMPLEMENTATION NOTES: take Accept-Encoding away from cpp-httplib's own compression.
    // The Request is a non-const local of cpp-httplib's connection loop, so this is defined.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    bool gzip_ok = false;
    auto range = mutable_req.headers.equal_range("Accept-Encoding");
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second.find("gzip") != std::string::npos) gzip_ok = true;
    }
    mutable_req.headers.erase("Accept-Encoding");
    mutable_req.headers.erase(kAcceptGzipHeader);
    if (gzip_ok) mutable_req.headers.emplace(kAcceptGzipHeader, "1");
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [svc](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours
        switch (res.status) {
          case 404:
            SendError(svc, req, res, 404, sync::kErrorNotFound, "no such endpoint");
            break;
          case 413:
            SendError(svc, req, res, 413, sync::kErrorTooLarge,
                      "message: body above the limit of " +
                          std::to_string(svc->limits().max_request_bytes) + " bytes");
            break;
          case 415:
            SendError(svc, req, res, 415, sync::kErrorUnsupportedMedia, "unsupported media");
            break;
          default:
            if (res.status >= 500) {
              SendError(svc, req, res, res.status, sync::kErrorInternal, "internal error");
            } else {
              SendError(svc, req, res, res.status, sync::kErrorMalformed, "malformed request");
            }
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  http.set_exception_handler(
      [svc](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        SendError(svc, req, res, 500, sync::kErrorInternal, "internal error");
      });

  http.Get("/healthz", [svc](const httplib::Request& req, httplib::Response& res) {
    Status s = svc->Health();
    if (!s.ok()) {
      SendError(svc, req, res, 503, sync::kErrorUnavailable, "数据库不可用 (database unreachable)");
      return;
    }
    nlohmann::json body = {{"status", "ok"}, {"time_ms", svc->NowMs()}};
    Send(svc, req, res, 200, body.dump());
  });

  http.Get("/v1/limits", [svc](const httplib::Request& req, httplib::Response& res) {
    Send(svc, req, res, 200,
         sync::EncodeLimitsResponse(sync::LimitsResponse{svc->limits(), svc->NowMs()}));
  });

  http.Post("/v1/login", [svc, limiter](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    std::string body;
    if (!ReadBody(svc, req, res, reader, &body)) return;
    Result<sync::LoginRequest> login = sync::DecodeLoginRequest(body, RequestDecodeLimits(svc));
    if (!login.ok()) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, login.status().message());
      return;
    }
    // Checked before Login, for known and unknown users alike, so a refused guess costs no scrypt
    // and the answer does not tell which users exist (rate_limiter.h).
    const LoginRateLimiter::Ticket ticket = limiter->Begin(login->user, req.remote_addr);
    if (!ticket.allowed) {
      SendError(svc, req, res, 429, sync::kErrorRateLimited,
                "登录尝试过多，请稍后再试 (too many failed logins; retry after " +
                    std::to_string(ticket.retry_after_s) + " s)",
                ticket.retry_after_s);
      return;
    }
    ApiResult<sync::LoginResponse> out = svc->Login(*login);
    using Outcome = LoginRateLimiter::Outcome;
    const Outcome outcome = out.ok()                         ? Outcome::kSucceeded
                            : out.error().http_status == 401 ? Outcome::kWrongCredentials
                                                             : Outcome::kNotCounted;
    limiter->Finish(login->user, req.remote_addr, ticket, outcome);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    out.value().server_time_ms = svc->NowMs();
    Send(svc, req, res, 200, sync::EncodeLoginResponse(out.value()));
  });

  // ---- tokens and devices (protocol §3.6-§3.8) ----
  http.Post("/v1/refresh", [svc](const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader) {
    std::string body;
    if (!ReadBody(svc, req, res, reader, &body)) return;
    Result<sync::RefreshRequest> refresh =
        sync::DecodeRefreshRequest(body, RequestDecodeLimits(svc));
    if (!refresh.ok()) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, refresh.status().message());
      return;
    }
    ApiResult<sync::LoginResponse> out = svc->Refresh(*refresh);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    out.value().server_time_ms = svc->NowMs();
    Send(svc, req, res, 200, sync::EncodeLoginResponse(out.value()));
  });

  // No body: the bearer token says which device logs out.
  http.Post("/v1/logout", [svc](const httplib::Request& req, httplib::Response& res) {
    Principal principal;
    if (!Authenticated(svc, req, res, &principal)) return;
    ApiResult<Ack> out = svc->Logout(principal);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    SendDone(svc, req, res);
  });

  http.Post("/v1/wipe-done", [svc](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    std::string body;
    if (!ReadBody(svc, req, res, reader, &body)) return;
    Result<sync::WipeDoneRequest> done =
        sync::DecodeWipeDoneRequest(body, RequestDecodeLimits(svc));
    if (!done.ok()) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, done.status().message());
      return;
    }
    ApiResult<Ack> out = svc->WipeDone(*done);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    SendDone(svc, req, res);
  });

  http.Post("/v1/push", [svc](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
    std::string body;
    if (!ReadBody(svc, req, res, reader, &body)) return;
    Principal principal;
    if (!Authenticated(svc, req, res, &principal)) return;
    Result<sync::PushRequest> push = sync::DecodePushRequest(body, RequestDecodeLimits(svc));
    if (!push.ok()) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, push.status().message());
      return;
    }
    ApiResult<sync::PushResponse> out = svc->ApplyPush(principal, *push);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    out.value().server_time_ms = svc->NowMs();
    Send(svc, req, res, 200, sync::EncodePushResponse(out.value()));
  });

  http.Get("/v1/pull", [svc](const httplib::Request& req, httplib::Response& res) {
    Principal principal;
    if (!Authenticated(svc, req, res, &principal)) return;
    uint64_t schema = 0, limit = 0;
    if (!UintParam(req, "schema", 1, INT_MAX, &schema)) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "schema: required, 1 or more");
      return;
    }
    if (req.has_param("limit") && !UintParam(req, "limit", 1, UINT32_MAX, &limit)) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "limit: expected 1 or more");
      return;
    }
    if (req.get_param_value_count("cursor") > 1) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "cursor: given twice");
      return;
    }
    // The tablet's outbox count, for the device list (protocol §3.5); optional.
    uint64_t pending = 0;
    const bool has_pending = req.has_param("pending");
    if (has_pending && !UintParam(req, "pending", 0, INT32_MAX, &pending)) {
      SendError(svc, req, res, 400, sync::kErrorMalformed, "pending: expected 0 or more");
      return;
    }
    ApiResult<sync::PullResponse> out =
        svc->Pull(principal, req.get_param_value("cursor"), static_cast<int>(schema),
                  static_cast<uint32_t>(limit), /*encoded=*/true);
    if (!out.ok()) {
      SendApiError(svc, req, res, out.error());
      return;
    }
    // After the page is built: a failure here loses only the device list's record of it.
    (void)svc->NoteSync(principal, has_pending
                                       ? std::optional<int64_t>(static_cast<int64_t>(pending))
                                       : std::nullopt);
    out.value().server_time_ms = svc->NowMs();
    Send(svc, req, res, 200, sync::EncodePullResponse(out.value()));
  });

  BackOfficeRoutes(http, svc);

  // The right path with the wrong method is 405, not cpp-httplib's 404 (§4).
  auto not_allowed = [svc](const httplib::Request& req, httplib::Response& res) {
    SendError(svc, req, res, 405, sync::kErrorMethodNotAllowed, req.method + " not allowed here");
  };
  for (const char* path : {R"(/v1/records/([^/]+)/([^/]+))", "/v1/conflicts", "/v1/audit"}) {
    http.Post(path, not_allowed);
    http.Put(path, not_allowed);
    http.Delete(path, not_allowed);
  }
  http.Get(R"(/v1/conflicts/([^/]+)/resolve)", not_allowed);
  http.Put(R"(/v1/conflicts/([^/]+)/resolve)", not_allowed);
  http.Delete(R"(/v1/conflicts/([^/]+)/resolve)", not_allowed);
  for (const char* path : {"/v1/login", "/v1/push", "/v1/refresh", "/v1/logout", "/v1/wipe-done"}) {
    http.Get(path, not_allowed);
    http.Put(path, not_allowed);
    http.Delete(path, not_allowed);
  }
  for (const char* path : {"/healthz", "/v1/limits", "/v1/pull"}) {
    http.Post(path, not_allowed);
    http.Put(path, not_allowed);
    http.Delete(path, not_allowed);
  }
}

Result<int> HttpServer::Bind(const std::string& host, int port) {
  if (!setup_error_.empty()) return Status::InvalidArgument(setup_error_);
  const int bound = port == 0                         ? http_->bind_to_any_port(host)
                    : http_->bind_to_port(host, port) ? port
                                                      : -1;
  if (bound <= 0) return Status::IOError("cannot listen on " + host + ":" + std::to_string(port));
  return bound;
}

Status HttpServer::Run() {
  if (!http_->listen_after_bind()) return Status::IOError("the server stopped with an error");
  return Status::OK();
}

Result<int> HttpServer::Start(const std::string& host, int port) {
  Result<int> bound = Bind(host, port);
  if (!bound.ok()) return bound;
  thread_ = std::thread([this] { (void)http_->listen_after_bind(); });
  // 0.11.4 has no wait_until_ready(): poll is_running() (TOOLCHAIN.md).
  for (int i = 0; i < 5000 && !http_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!http_->is_running()) {
    Stop();
    return Status::IOError("the server did not start");
  }
  return bound;
}

void HttpServer::Stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fieldsync::server
