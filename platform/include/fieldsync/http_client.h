// fieldsync/http_client.h: the one way fieldsync talks HTTP(S), and the libcurl client behind it.
//
// The replicator (sync/) sends its requests through an HttpClient, so tests inject a fake one and
// no layer above platform/ includes a network header. NewCurlHttpClient() is the real client. The
// requests it will carry are specified in docs/protocol.md; this layer knows nothing of them.
//
// What this layer does and does not decide:
//   * An HTTP status of 4xx or 5xx is a response, not an error: Send() returns it with its status,
//     headers, body and parsed Retry-After. Only a transfer that produced no complete response is
//     an error.
//   * Errors say what the caller should do (fieldsync/status.h):
//       Unavailable         transient: connection refused or reset, DNS failure, timeout, TLS
//                           handshake broken off, truncated or garbled response. Retry later.
//       FailedPrecondition  the server's TLS certificate is not trusted, its public key does not
//                           match the pin, or it does not name the host. Not retryable: the
//                           configuration or the server must change. The message names the host.
//       InvalidArgument     the request is wrong as given (malformed URL, scheme other than http
//                           or https, CR or LF in a header, GET with a body), or the response
//                           body exceeded max_response_bytes. Retrying the same call repeats it.
//       Internal            libcurl could not be initialized or ran out of memory.
//   * Backoff, jitter and retry budgets belong to the caller (the replicator); this layer retries
//     nothing and follows no redirects.
//
// TLS, in one place (HttpClientOptions has the details):
//   * Default: the server's chain is verified against the system CA store and its certificate
//     must name the URL's host (DNS name or IP address in subjectAltName). TLS 1.2 or later.
//   * ca_bundle_path: that PEM file replaces the system store (system CAs are then not trusted
//     at all). A self-signed server certificate is "pinned" by putting it alone in this file.
//   * pinned_public_key: the server's public key must match. With a pin and no ca_bundle_path, the
//     pin replaces chain verification (so a self-signed certificate works); with both, both apply.
//   * The host name is verified in every mode, pinned or not: a pin says which key, the name check
//     says this is the server the URL names, and a certificate that lacks the name is a
//     deployment bug better caught at the first connection than later.
//
// Privacy: the client logs nothing. Error messages name the scheme, host and port, never the
// URL's path or query (a pull cursor), headers (Authorization) or bodies.
//
// Wire size: bytes_sent and bytes_received count the HTTP/1.1 bytes as written and read (request
// and status lines, headers, bodies as sent, i.e. compressed and chunk-framed), not TLS records or
// TCP/IP headers. That is what the byte budget of docs/protocol.md §12 measures. To keep requests
// within it, the client sends only the caller's headers plus Host, Content-Length and (with
// accept_gzip) Accept-Encoding: libcurl's own Accept, Expect and form Content-Type are suppressed
// and no User-Agent is sent unless configured.
//
// Thread safety: HttpClient implementations are safe for concurrent use. The curl client keeps a
// small pool of libcurl handles, so concurrent Send() calls run in parallel and sequential calls
// reuse the pooled connection (keep-alive: a sync round stays on one connection, §2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fieldsync/clock.h"
#include "fieldsync/status.h"

namespace fieldsync {

// An ordered list of header fields. Lookup by name is case-insensitive (RFC 9110 §5.1); order and
// repeated names are kept as sent or received.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  void Add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // The value of the first field with this name, or nullptr. The pointer is valid until the next
  // Add() or until the HttpHeaders is destroyed.
  const std::string* Find(std::string_view name) const {
    for (const Field& field : fields_) {
      if (EqualsIgnoreCase(field.first, name)) return &field.second;
    }
    return nullptr;
  }
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  // Value of the first field with this name, or `fallback`.
  std::string Get(std::string_view name, std::string fallback = {}) const {
    const std::string* value = Find(name);
    return value != nullptr ? *value : fallback;
  }
  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

  // ASCII case-insensitive comparison, as header names need; locale-independent on purpose.
  static bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char x = a[i];
      char y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }

 private:
  std::vector<Field> fields_;
};

struct HttpRequest {
  // GET, HEAD, POST, PUT, PATCH, DELETE or another token. GET and HEAD must have no body; POST,
  // PUT and PATCH always send Content-Length (0 for an empty body).
  std::string method = "GET";
  // Absolute http:// or https:// URL, already percent-encoded.
  std::string url;
  // Sent exactly as given (plus Host and Content-Length, added by the client). Names must be
  // tokens and values must not contain CR, LF or NUL (no header injection). Do not set
  // Accept-Encoding here: use HttpClientOptions::accept_gzip, which also decodes the response.
  HttpHeaders headers;
  // Sent as is; compress it yourself (protocol §11) and say so in Content-Encoding.
  std::string body;
  // Whole-transfer deadline, connection included; 0 = HttpClientOptions::timeout_ms.
  int64_t timeout_ms = 0;
  // Deadline for DNS, TCP and TLS setup; 0 = HttpClientOptions::connect_timeout_ms.
  int64_t connect_timeout_ms = 0;
  // Cap on the decoded response body; 0 = HttpClientOptions::max_response_bytes. Per request
  // because the server announces its limits at run time (protocol §9).
  uint64_t max_response_bytes = 0;
};

struct HttpResponse {
  int status = 0;  // 200, 413, 503, ...
  // The final response's header fields (those of a 100 Continue or a proxy CONNECT are dropped).
  HttpHeaders headers;
  // Decoded: with accept_gzip, a gzip-coded body is returned decompressed (Content-Encoding stays
  // in headers, so callers can see it was compressed on the wire).
  std::string body;
  // HTTP bytes written and read for this request, headers included (see the file comment).
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // Seconds to wait before the next request, from Retry-After (delta-seconds or an HTTP-date);
  // absent if the header is absent or unparseable. An HTTP-date is measured against the
  // response's Date header when present (the server's clock, so device clock error cancels out),
  // else against HttpClientOptions::clock. Never negative.
  std::optional<int64_t> retry_after_s;
  // The Date header as milliseconds since the Unix epoch (whole seconds), if present and valid.
  // fieldsync servers send time_ms in the body instead (protocol §2, §8); this is for others.
  std::optional<int64_t> server_time_ms;
};

struct HttpClientOptions {
  // PEM file of trusted CA certificates replacing the system store; empty = system store
  // (libcurl's default, /etc/ssl/certs on Debian).
  std::string ca_bundle_path;
  // Public-key pin, as libcurl's CURLOPT_PINNEDPUBLICKEY takes it: "sha256//<base64 of the SHA-256
  // of the DER SubjectPublicKeyInfo>", several joined by ';' (to roll keys), or the path of a PEM
  // or DER public-key file. Empty = no pin. See the file comment for how it combines with CAs.
  std::string pinned_public_key;
  // Sent as User-Agent when non-empty. Empty = no User-Agent header (protocol §2.1).
  std::string user_agent;
  // Send "Accept-Encoding: gzip" and decode gzip responses. Only gzip: protocol §11.
  bool accept_gzip = true;
  // Cap on a decoded response body, checked while it arrives so that a gzip bomb stops at the
  // cap. Beyond it the transfer is aborted: InvalidArgument. Default: protocol §9's default.
  uint64_t max_response_bytes = 4 * 1024 * 1024;
  int64_t timeout_ms = 60 * 1000;
  int64_t connect_timeout_ms = 15 * 1000;
  // nullopt: proxies from the environment as libcurl reads them (http_proxy, https_proxy,
  // no_proxy, ...). "" = never use a proxy, whatever the environment says. Otherwise the proxy
  // URL, e.g. "http://proxy.example:3128".
  std::optional<std::string> proxy;
  // Turns a Retry-After HTTP-date into seconds when the response has no Date header. Not owned;
  // must outlive the client.
  Clock* clock = Clock::System();
};

// Sends HTTP requests. See the file comment for the error contract and thread safety.
class HttpClient {
 public:
  virtual ~HttpClient();
  // Performs one request. A complete response of any status is a value; see the file comment for
  // the errors. Blocks for at most the request's timeout.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// The libcurl client. Initializes libcurl's global state on first use (once per process, thread
// safe) and never tears it down. The options are fixed for the client's lifetime.
std::unique_ptr<HttpClient> NewCurlHttpClient(const HttpClientOptions& options);

// Parses an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a
// recipient must accept) into seconds since the Unix epoch; nullopt if it is not exactly one of
// them (strict: no other date formats, no trailing text, no impossible dates). RFC 850's two-digit
// year is read as 19yy from 70 and 20yy below, a fixed pivot rather than the RFC's "at most 50
// years ahead of now" rule: RFC 850 dates are obsolete and rare, and a pivot keeps this function
// independent of the clock.
std::optional<int64_t> ParseHttpDate(std::string_view value);

// Parses a Retry-After value: delta-seconds, or an HTTP-date turned into seconds after
// `now_unix_s` (0 if already past). A delta too large to represent is taken as 2^31 seconds, as
// RFC 9111 §1.2.2 says for delta-seconds. nullopt for anything else (empty, negative, garbage).
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix_s);

}  // namespace fieldsync
