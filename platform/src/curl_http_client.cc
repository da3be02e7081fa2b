// curl_http_client.cc: HttpClient over libcurl, plus the HTTP-date and Retry-After parsers.
//
// The contract (errors, TLS modes, privacy, byte counting) is in fieldsync/http_client.h; this
// file says how libcurl is driven to meet it.
//
// HANDLES. libcurl easy handles are not thread-safe but are cheap to keep: each one caches its
// connections (keep-alive), DNS answers and TLS sessions. The client keeps up to
// kMaxIdleHandles idle handles in a pool: Send() takes one (or creates one), uses it alone, resets
// its options with curl_easy_reset() (which keeps those caches) and gives it back. Concurrent
// calls therefore never share a handle, and sequential calls reuse the previous connection.
//
// OPTIONS SET ON EVERY REQUEST, each with its reason:
//   NOSIGNAL                 libcurl must not use signals in a multi-threaded host.
//   HTTP_VERSION 1.1         the protocol and its byte budget are HTTP/1.1; Debian's libcurl would
//                            otherwise offer h2 through ALPN on HTTPS.
//   PROTOCOLS_STR http,https nothing else, whatever the URL says; no redirects are followed.
//   SSLVERSION TLSv1.2       protocol §2: TLS 1.2 or later.
//   VERBOSE + DEBUGFUNCTION  the only place libcurl reports the raw bytes it writes and reads
//                            (before dechunking and gzip decoding); the callback counts them and
//                            looks at nothing else, and with a callback set libcurl prints nothing.
//   "Accept:", "Expect:", "Content-Type:" (unless the caller set them) remove headers libcurl
//                            adds by itself: they cost bytes (§12), and Expect: 100-continue a
//                            round trip.
//
// LOGGING: none. Nothing here may put a URL's path or query, a header or a body into a message.
#include <curl/curl.h>

#include "fieldsync/calendar.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fieldsync/clock.h"
#include "fieldsync/http_client.h"

#include "fieldsync/calendar.h"
#include "fieldsync/status.h"

namespace fieldsync {

HttpClient::~HttpClient() = default;

// ---------------------------------------------------------------------------------------------
// HTTP-date and Retry-After.

namespace {

// A cursor over a header value, for the three fixed HTTP-date layouts.
class DateScanner {
 public:
  explicit DateScanner(std::string_view s) : s_(s) {}

  bool Literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  // Exactly n ASCII digits.
  bool Digits(size_t n, int* out) {
    if (pos_ + n > s_.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    *out = v;
    return true;
  }
  // One of `names`; *index is its position.
  template <size_t N>
  bool OneOf(const std::string_view (&names)[N], int* index) {
    for (size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) {
        *index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

constexpr std::string_view kShortDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
// Longest first would not matter: no long day name is a prefix of another.
constexpr std::string_view kLongDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct CivilTime {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

bool ScanTime(DateScanner* in, CivilTime* t) {
  return in->Digits(2, &t->hour) && in->Literal(":") && in->Digits(2, &t->minute) &&
         in->Literal(":") && in->Digits(2, &t->second);
}

bool ScanMonth(DateScanner* in, CivilTime* t) {
  int index = 0;
  if (!in->OneOf(kMonths, &index)) return false;
  t->month = index + 1;
  return true;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool ScanImfFixdate(std::string_view s, CivilTime* t) {
  DateScanner in(s);
  int unused = 0;
  return in.OneOf(kShortDays, &unused) && in.Literal(", ") && in.Digits(2, &t->day) &&
         in.Literal(" ") && ScanMonth(&in, t) && in.Literal(" ") && in.Digits(4, &t->year) &&
         in.Literal(" ") && ScanTime(&in, t) && in.Literal(" GMT") && in.AtEnd();
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
bool ScanRfc850(std::string_view s, CivilTime* t) {
  DateScanner in(s);
  int unused = 0;
  int yy = 0;
  if (!(in.OneOf(kLongDays, &unused) && in.Literal(", ") && in.Digits(2, &t->day) &&
        in.Literal("-") && ScanMonth(&in, t) && in.Literal("-") && in.Digits(2, &yy) &&
        in.Literal(" ") && ScanTime(&in, t) && in.Literal(" GMT") && in.AtEnd())) {
    return false;
  }
  t->year = yy >= 70 ? 1900 + yy : 2000 + yy;  // the pivot documented in http_client.h
  return true;
}

// "Sun Nov  6 08:49:37 1994"
bool ScanAsctime(std::string_view s, CivilTime* t) {
  DateScanner in(s);
  int unused = 0;
  if (!(in.OneOf(kShortDays, &unused) && in.Literal(" ") && ScanMonth(&in, t) && in.Literal(" "))) {
    return false;
  }
  // The day is two digits, or a space and one digit.
  if (!(in.Digits(2, &t->day) || (in.Literal(" ") && in.Digits(1, &t->day)))) return false;
  return in.Literal(" ") && ScanTime(&in, t) && in.Literal(" ") && in.Digits(4, &t->year) &&
         in.AtEnd();
}

using calendar::DaysFromCivil;
using calendar::DaysInMonth;

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<int64_t> ParseHttpDate(std::string_view value) {
  CivilTime t;
  if (!ScanImfFixdate(value, &t) && !ScanRfc850(value, &t) && !ScanAsctime(value, &t)) {
    return std::nullopt;
  }
  // 60 seconds is a leap second, which RFC 9110 allows.
  if (t.day < 1 || t.day > DaysInMonth(t.year, t.month) || t.hour > 23 || t.minute > 59 ||
      t.second > 60) {
    return std::nullopt;
  }
  return DaysFromCivil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix_s) {
  value = TrimOws(value);
  if (value.empty()) return std::nullopt;
  bool all_digits = true;
  for (char c : value) all_digits = all_digits && c >= '0' && c <= '9';
  if (all_digits) {
    // RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31.
    constexpr int64_t kMaxDelta = int64_t{1} << 31;
    int64_t delta = 0;
    for (char c : value) {
      delta = delta * 10 + (c - '0');
      if (delta >= kMaxDelta) return kMaxDelta;
    }
    return delta;
  }
  std::optional<int64_t> when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  return *when > now_unix_s ? *when - now_unix_s : 0;
}

// ---------------------------------------------------------------------------------------------
// The libcurl client.

namespace {

// Idle handles kept for reuse. The replicator sends one request at a time; a few more cover a
// health check or a login running beside it. Beyond this, handles (and their connections) are
// closed when their request ends rather than left open against the server.
constexpr size_t kMaxIdleHandles = 4;

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};

// curl_global_init is not safe to race with itself or with other libcurl calls; a function-local
// static runs it exactly once, and it is never undone (curl_global_cleanup would pull libcurl out
// from under any other user in the process).
Status EnsureCurlInitialized() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
  }
  return Status::OK();
}

// RFC 9110 §5.6.2 token characters: what a method or a header name may consist of.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsSafeHeaderValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// What one transfer collects through the callbacks.
struct Transfer {
  uint64_t max_body = 0;
  bool body_too_large = false;
  std::string body;
  HttpHeaders headers;
  bool headers_complete = false;  // the blank line ending the last response's headers arrived
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  // Counted on decoded bytes, so a small gzip body that inflates past the cap stops here.
  if (t->body.size() + n > t->max_body) {
    t->body_too_large = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  // No exception may unwind through libcurl's C frames; bad_alloc becomes CURLE_WRITE_ERROR.
  try {
    t->body.append(data, n);
  } catch (...) {
    return 0;
  }
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    // A status line starts a response: what came before belonged to a 1xx or a proxy's CONNECT.
    t->headers = HttpHeaders();
    t->headers_complete = false;
    return n;
  }
  if (line.empty()) {
    t->headers_complete = true;
    return n;
  }
  const size_t colon = line.find(':');
  // The blank line ending the headers, and obsolete folded continuation lines, carry no field.
  if (colon == std::string_view::npos || colon == 0) return n;
  try {
    t->headers.Add(std::string(line.substr(0, colon)),
                   std::string(TrimOws(line.substr(colon + 1))));
  } catch (...) {
    return 0;  // as in WriteBody
  }
  return n;
}

int CountWireBytes(CURL* /*handle*/, curl_infotype type, char* /*data*/, size_t size, void* user) {
  auto* t = static_cast<Transfer*>(user);
  switch (type) {
    case CURLINFO_HEADER_OUT:
    case CURLINFO_DATA_OUT:
      t->bytes_sent += size;
      break;
    case CURLINFO_HEADER_IN:
    case CURLINFO_DATA_IN:
      t->bytes_received += size;
      break;
    default:  // CURLINFO_TEXT and the TLS record types: not HTTP bytes, and never looked at
      break;
  }
  return 0;
}

// The parts of a URL that may appear in a message: scheme, host and port, never path or query.
struct Endpoint {
  std::string scheme;
  std::string text;  // "https://sync.example.com:443"
};

Result<Endpoint> ParseEndpoint(const std::string& url) {
  if (url.find('\0') != std::string::npos) return Status::InvalidArgument("URL contains NUL");
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (!parsed) return Status::Internal("curl_url failed");
  // The URL itself stays out of the message: its query may hold a cursor.
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Status::InvalidArgument("malformed URL");
  }
  auto part = [&](CURLUPart which, unsigned flags) -> std::string {
    char* raw = nullptr;
    if (curl_url_get(parsed.get(), which, &raw, flags) != CURLUE_OK) return {};
    std::unique_ptr<char, CurlStringDeleter> owned(raw);
    return std::string(owned.get());
  };
  Endpoint e;
  e.scheme = part(CURLUPART_SCHEME, 0);
  if (e.scheme != "http" && e.scheme != "https") {
    return Status::InvalidArgument("unsupported URL scheme \"" + e.scheme + "\"");
  }
  e.text =
      e.scheme + "://" + part(CURLUPART_HOST, 0) + ":" + part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  return e;
}

// Sorts a failed transfer into the codes of http_client.h. `message` is libcurl's error buffer,
// which names hosts and ports but never paths, queries, headers or bodies.
Status ClassifyCurlError(CURLcode rc, const Endpoint& endpoint, const std::string& message) {
  const std::string detail = endpoint.text + ": " + message;
  switch (rc) {
    // The server's identity could not be established: retrying changes nothing until the
    // configuration or the server's certificate does.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return Status::FailedPrecondition(endpoint.text +
                                        ": TLS certificate not trusted: " + message);
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return Status::FailedPrecondition(endpoint.text +
                                        ": TLS public key does not match the pinned key");
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return Status::FailedPrecondition(endpoint.text +
                                        ": TLS trust configuration unusable: " + message);

    // The request as given can never succeed.
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return Status::InvalidArgument(detail);

    case CURLE_FAILED_INIT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR:  // a callback out of memory; the size cap is handled before this
    case CURLE_UNKNOWN_OPTION:
    case CURLE_NOT_BUILT_IN:
      return Status::Internal(detail);

    // Everything else is the network or the server failing mid-way: refused, reset, DNS,
    // timeouts, a handshake broken off, a truncated or garbled response (including a corrupt gzip
    // stream, CURLE_BAD_CONTENT_ENCODING, which a proxy truncating the body also produces).
    // Protocol §4 treats these like a 500: retry with backoff; idempotency makes that safe.
    default:
      return Status::Unavailable(detail);
  }
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    FIELDSYNC_RETURN_IF_ERROR(EnsureCurlInitialized());
    Result<Endpoint> endpoint = ParseEndpoint(request.url);
    if (!endpoint.ok()) return endpoint.status();
    FIELDSYNC_RETURN_IF_ERROR(ValidateMethod(request));
    Result<CurlSlist> headers = BuildHeaderList(request);
    if (!headers.ok()) return headers.status();

    Result<CurlEasy> handle = Acquire();
    if (!handle.ok()) return handle.status();
    Transfer transfer;
    transfer.max_body =
        request.max_response_bytes > 0 ? request.max_response_bytes : options_.max_response_bytes;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURLcode rc = Configure(handle->get(), request, headers->get(), &transfer, error_buffer);
    if (rc == CURLE_OK) rc = curl_easy_perform(handle->get());
    long status = 0;
    if (rc == CURLE_OK) rc = curl_easy_getinfo(handle->get(), CURLINFO_RESPONSE_CODE, &status);
    Release(std::move(*handle));

    if (rc != CURLE_OK) {
      if (transfer.body_too_large) {
        return Status::InvalidArgument(endpoint->text + ": response body exceeds " +
                                       std::to_string(transfer.max_body) + " bytes");
      }
      std::string message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
      return ClassifyCurlError(rc, *endpoint, message);
    }

    if (!transfer.headers_complete) {
      // libcurl reports success for a connection closed inside the header block, with the
      // status line it had: a response cut short must not pass for a complete one.
      return Status::Unavailable(endpoint->text +
                                 ": the connection closed inside the response headers "
                                 "(truncated response)");
    }
    HttpResponse response;
    response.status = static_cast<int>(status);
    response.headers = std::move(transfer.headers);
    response.body = std::move(transfer.body);
    response.bytes_sent = transfer.bytes_sent;
    response.bytes_received = transfer.bytes_received;
    if (const std::string* date = response.headers.Find("Date")) {
      if (std::optional<int64_t> s = ParseHttpDate(*date)) response.server_time_ms = *s * 1000;
    }
    if (const std::string* retry_after = response.headers.Find("Retry-After")) {
      // Measure an HTTP-date against the server's own Date when there is one: both come from the
      // server's clock, so a device clock that is hours off does not distort the wait.
      const int64_t now_s = response.server_time_ms ? *response.server_time_ms / 1000
                                                    : options_.clock->WallMicros() / 1000000;
      response.retry_after_s = ParseRetryAfter(*retry_after, now_s);
    }
    return response;
  }

  ~CurlHttpClient() override = default;  // idle_ closes its handles and their connections

 private:
  static Status ValidateMethod(const HttpRequest& request) {
    if (!IsToken(request.method)) return Status::InvalidArgument("invalid HTTP method");
    if ((request.method == "GET" || request.method == "HEAD") && !request.body.empty()) {
      return Status::InvalidArgument(request.method + " request with a body");
    }
    return Status::OK();
  }

  // The caller's headers, validated, plus the removals of libcurl's own (see the file comment).
  static Result<CurlSlist> BuildHeaderList(const HttpRequest& request) {
    CurlSlist list;
    auto append = [&list](const std::string& line) -> bool {
      // On success the head is unchanged unless the list was empty; on failure the list is intact.
      curl_slist* head = curl_slist_append(list.get(), line.c_str());
      if (head == nullptr) return false;
      if (!list) list.reset(head);
      return true;
    };
    for (const HttpHeaders::Field& field : request.headers.fields()) {
      if (!IsToken(field.first)) {
        return Status::InvalidArgument("invalid header name \"" + field.first + "\"");
      }
      // The value is not echoed: it may be a token.
      if (!IsSafeHeaderValue(field.second)) {
        return Status::InvalidArgument("header " + field.first + " contains CR, LF or NUL");
      }
      // libcurl reads "Name:" as "remove Name" and "Name;" as "send Name empty".
      const std::string line =
          field.second.empty() ? field.first + ";" : field.first + ": " + field.second;
      if (!append(line)) return Status::Internal("curl_slist_append failed");
    }
    for (const char* name : {"Accept", "Expect", "Content-Type"}) {
      if (!request.headers.Has(name) && !append(std::string(name) + ":")) {
        return Status::Internal("curl_slist_append failed");
      }
    }
    return list;
  }

  // Sets every option of one request on a freshly reset handle. Pointers handed to libcurl
  // (request fields, headers, transfer, error buffer) outlive curl_easy_perform.
  CURLcode Configure(CURL* h, const HttpRequest& request, curl_slist* headers, Transfer* transfer,
                     char* error_buffer) const {
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(h, option, value);
    };
    set(CURLOPT_ERRORBUFFER, error_buffer);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_URL, request.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    set(CURLOPT_HTTPHEADER, headers);
    if (!options_.user_agent.empty()) set(CURLOPT_USERAGENT, options_.user_agent.c_str());
    if (options_.accept_gzip) set(CURLOPT_ACCEPT_ENCODING, "gzip");
    if (options_.proxy) set(CURLOPT_PROXY, options_.proxy->c_str());
    set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);

    const int64_t timeout_ms = request.timeout_ms > 0 ? request.timeout_ms : options_.timeout_ms;
    const int64_t connect_ms =
        request.connect_timeout_ms > 0 ? request.connect_timeout_ms : options_.connect_timeout_ms;
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms));

    // TLS: the three modes of http_client.h.
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_bundle_path.empty()) {
      set(CURLOPT_SSL_VERIFYPEER, 1L);
      set(CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
      // Debian's libcurl also has a default CA directory; left set, it would keep trusting every
      // system CA beside the bundle.
      set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    } else if (!options_.pinned_public_key.empty()) {
      // The pin alone decides trust: no chain to verify, and no CA store to load.
      set(CURLOPT_SSL_VERIFYPEER, 0L);
      set(CURLOPT_CAINFO, static_cast<const char*>(nullptr));
      set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    } else {
      set(CURLOPT_SSL_VERIFYPEER, 1L);
    }
    if (!options_.pinned_public_key.empty()) {
      set(CURLOPT_PINNEDPUBLICKEY, options_.pinned_public_key.c_str());
    }

    set(CURLOPT_WRITEFUNCTION, &WriteBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(transfer));
    set(CURLOPT_HEADERFUNCTION, &WriteHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(transfer));
    set(CURLOPT_DEBUGFUNCTION, &CountWireBytes);
    set(CURLOPT_DEBUGDATA, static_cast<void*>(transfer));
    set(CURLOPT_VERBOSE, 1L);

    const std::string& method = request.method;  // checked by ValidateMethod
    if (method == "GET" || method == "HEAD") {
      set(method == "GET" ? CURLOPT_HTTPGET : CURLOPT_NOBODY, 1L);
    } else if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      set(CURLOPT_POST, 1L);
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      set(CURLOPT_POSTFIELDS, request.body.data());
      if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str());
    } else {
      set(CURLOPT_CUSTOMREQUEST, method.c_str());  // e.g. DELETE without a body
    }
    return rc;
  }

  Result<CurlEasy> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CurlEasy handle = std::move(idle_.back());
        idle_.pop_back();
        return handle;
      }
    }
    FIELDSYNC_RETURN_IF_ERROR(EnsureCurlInitialized());
    CurlEasy handle(curl_easy_init());
    if (!handle) return Status::Internal("curl_easy_init failed");
    return handle;
  }

  void Release(CurlEasy handle) {
    // Drops the options (and the pointers into this request) but keeps the connection, DNS and
    // TLS session caches for the next request.
    curl_easy_reset(handle.get());
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
    // Otherwise `handle` closes after the lock is released: a parameter outlives the locals.
  }

  const HttpClientOptions options_;
  std::mutex mu_;
  std::vector<CurlEasy> idle_;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient(const HttpClientOptions& options) {
  // Initialize now, usually while the host is still single-threaded; a failure is reported by
  // every Send().
  (void)EnsureCurlInitialized();
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace fieldsync
