// sync/src/wire_format.cc: JSON encoding and strict decoding of protocol v1, cursors and gzip.
// The contract is fieldsync/sync/wire_format.h; the bytes and their reasons, docs/protocol.md.
#include "fieldsync/sync/wire_format.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <set>
#include <unordered_set>

namespace fieldsync::sync {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// ---- encoding -----------------------------------------------------------------------------------

std::string Dump(const ojson& j) {
  // replace: an encoder never fails (see the header); the core validates text before this.
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

ojson VersionToJson(const Version& v) { return ojson::array({v.hlc.packed(), v.node}); }

ojson FieldWriteToJson(const FieldWrite& write) {
  ojson out = ojson::object();
  // "v" is omitted only for a pure set operation: absent means null, which is what a set write
  // carries, and an explicit null on every set write would be noise.
  const bool set_op = !write.set_add.empty() || !write.set_remove.empty();
  if (!set_op || !write.value.is_null()) out["v"] = ojson(write.value);
  if (!write.base.empty()) {
    ojson& base = out["b"] = ojson::array();
    for (const Version& v : write.base) base.push_back(VersionToJson(v));
  }
  if (!write.set_add.empty()) out["add"] = write.set_add;
  if (!write.set_remove.empty()) {
    ojson& rem = out["rem"] = ojson::array();
    for (const auto& [element, v] : write.set_remove) {
      rem.push_back(ojson::array({element, v.hlc.packed(), v.node}));
    }
  }
  return out;
}

// `node` and `schema_version` of the enclosing push: members equal to them are omitted.
// With a null `node`, both are always written (pull responses and the canonical form).
ojson ChangeToJson(const Change& c, const std::string* node, int schema_version, bool with_author) {
  ojson out = ojson::object();
  out["i"] = c.change_id;
  out["c"] = c.collection;
  out["r"] = c.record_id;
  if (c.op == Change::Op::kDelete) out["o"] = "delete";
  out["h"] = c.version.hlc.packed();
  if (node == nullptr || c.version.node != *node) out["n"] = c.version.node;
  if (node == nullptr || c.schema_version != schema_version) out["s"] = c.schema_version;
  if (c.recreate) out["x"] = true;
  if (with_author && !c.author.empty()) out["a"] = c.author;
  if (!c.fields.empty()) {
    ojson& fields = out["f"] = ojson::object();
    for (const auto& [name, write] : c.fields) fields[name] = FieldWriteToJson(write);
  }
  return out;
}

const char* PushStatusName(PushStatus s) {
  switch (s) {
    case PushStatus::kApplied:
      return "applied";
    case PushStatus::kDuplicate:
      return "duplicate";
    case PushStatus::kRefused:
      return "refused";
  }
  return "refused";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kRep:
      return "rep";
    case Role::kManager:
      return "manager";
    case Role::kAdmin:
      return "admin";
    case Role::kServer:
      return "server";
  }
  return "rep";
}

ojson LimitsToJson(const Limits& l) {
  ojson out = ojson::object();
  out["max_batch_changes"] = l.max_batch_changes;
  out["max_request_bytes"] = l.max_request_bytes;
  out["max_response_bytes"] = l.max_response_bytes;
  return out;
}

// ---- parsing ------------------------------------------------------------------------------------

// Thrown only inside ParseJson's callback, caught there.
struct ParseAbort {
  std::string message;
};

// Tracks where the parser is, to name the path of a repeated member or of too deep a nesting.
// It runs for every member of every message (a pull page has tens of thousands), so it allocates
// little: frames are reused from one object to the next at the same depth, and an object's member
// names are checked for repeats in a small vector (objects have a handful of members) that turns
// into a hash set past kLinearKeys, so a hostile object with many members costs no quadratic time.
class PathTracker {
 public:
  explicit PathTracker(int max_depth) : max_depth_(max_depth) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        CountElement();
        if (static_cast<int>(depth_) >= max_depth_) {
          throw ParseAbort{Where() + ": nested deeper than " + std::to_string(max_depth_) +
                           " levels"};
        }
        if (depth_ == frames_.size()) frames_.emplace_back();
        frames_[depth_].Reset(event == json::parse_event_t::object_start);
        ++depth_;
        break;
      case json::parse_event_t::key: {
        Frame& top = frames_[depth_ - 1];
        top.key = parsed.get_ref<const std::string&>();
        if (!top.AddKey()) throw ParseAbort{Where() + ": repeated member"};
        break;
      }
      case json::parse_event_t::value:
        CountElement();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        --depth_;
        break;
    }
    return true;
  }

 private:
  static constexpr size_t kLinearKeys = 16;

  struct Frame {
    bool object = false;
    std::string key;  // the member being read
    long index = -1;  // the element being read
    std::vector<std::string> few_keys;
    std::unordered_set<std::string> many_keys;

    void Reset(bool is_object) {
      object = is_object;
      key.clear();
      index = -1;
      few_keys.clear();
      many_keys.clear();
    }
    // False if `key` was seen before in this object.
    bool AddKey() {
      if (!many_keys.empty()) return many_keys.insert(key).second;
      for (const std::string& k : few_keys) {
        if (k == key) return false;
      }
      few_keys.push_back(key);
      if (few_keys.size() > kLinearKeys) {
        many_keys.insert(few_keys.begin(), few_keys.end());
        few_keys.clear();
      }
      return true;
    }
  };

  void CountElement() {
    if (depth_ > 0 && !frames_[depth_ - 1].object) ++frames_[depth_ - 1].index;
  }

  std::string Where() const {
    std::string path;
    for (size_t d = 0; d < depth_; ++d) {
      const Frame& f = frames_[d];
      if (f.object) {
        if (!path.empty()) path += '.';
        path += f.key;
      } else {
        path += '[' + std::to_string(f.index) + ']';
      }
    }
    return path.empty() ? "message" : path;
  }

  int max_depth_;
  std::vector<Frame> frames_;  // frames_[0, depth_) are open; the rest are kept for reuse
  size_t depth_ = 0;
};

Status ParseJson(std::string_view text, const DecodeLimits& limits, json* out) {
  if (text.size() > limits.max_bytes) {
    return Status::InvalidArgument("message: " + std::to_string(text.size()) +
                                   " bytes, above the limit of " +
                                   std::to_string(limits.max_bytes));
  }
  PathTracker tracker(limits.max_depth);
  try {
    // std::ref: parse() copies its callback, and the tracker's state must survive the copy.
    *out = json::parse(text.begin(), text.end(), std::ref(tracker));
  } catch (const ParseAbort& e) {
    return Status::InvalidArgument(e.message);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based; e.what() repeats the library's own prefix, keep only the reason.
    std::string what = e.what();
    const size_t colon = what.find(": ", what.find("parse error"));
    return Status::InvalidArgument("message: not JSON at byte " + std::to_string(e.byte) +
                                   (colon == std::string::npos ? "" : what.substr(colon)));
  }
  return Status::OK();
}

// ---- decoding -----------------------------------------------------------------------------------

std::string Member(const std::string& path, std::string_view name) {
  std::string out = path;
  if (!out.empty()) out += '.';
  out.append(name);
  return out;
}

std::string Element(const std::string& path, size_t index) {
  return path + '[' + std::to_string(index) + ']';
}

Status Bad(const std::string& path, std::string_view problem) {
  std::string msg = path.empty() ? "message" : path;
  msg += ": ";
  msg.append(problem);
  return Status::InvalidArgument(std::move(msg));
}

// Reads the members of one JSON object, remembering which were looked at, so that Finish() can
// refuse (strict) or ignore (lenient) the others.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status Open() const { return j_.is_object() ? Status::OK() : Bad(path_, "expected an object"); }

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view name) const { return Member(path_, name); }

  // The member, or nullptr when absent. Remembers `name` as known.
  const json* Find(const char* name) {
    known_.push_back(name);
    auto it = j_.find(name);
    return it == j_.end() ? nullptr : &*it;
  }

  Status Required(const char* name, const json** out) {
    *out = Find(name);
    return *out != nullptr ? Status::OK() : Bad(PathOf(name), "missing");
  }

  Status String(const char* name, bool required, std::string* out) {
    const json* m = Find(name);
    if (m == nullptr) return required ? Bad(PathOf(name), "missing") : Status::OK();
    if (!m->is_string()) return Bad(PathOf(name), "expected a string");
    *out = m->get<std::string>();
    return Status::OK();
  }

  Status Unsigned(const char* name, bool required, uint64_t max, uint64_t* out) {
    const json* m = Find(name);
    if (m == nullptr) return required ? Bad(PathOf(name), "missing") : Status::OK();
    return ReadUnsigned(*m, PathOf(name), max, out);
  }

  Status Bool(const char* name, bool required, bool* out) {
    const json* m = Find(name);
    if (m == nullptr) return required ? Bad(PathOf(name), "missing") : Status::OK();
    if (!m->is_boolean()) return Bad(PathOf(name), "expected true or false");
    *out = m->get<bool>();
    return Status::OK();
  }

  // Strict: the first member (in the JSON object's sorted order) that no Find() asked for.
  Status Finish(bool strict) const {
    if (!strict) return Status::OK();
    for (const auto& item : j_.items()) {
      if (std::find(known_.begin(), known_.end(), item.key()) == known_.end()) {
        return Bad(PathOf(item.key()), "unknown member");
      }
    }
    return Status::OK();
  }

  static Status ReadUnsigned(const json& m, const std::string& path, uint64_t max, uint64_t* out) {
    // A non-negative integer parses as number_unsigned; 1.0, -1 and 2^64 do not.
    if (!m.is_number_unsigned()) return Bad(path, "expected an unsigned integer");
    const uint64_t v = m.get<uint64_t>();
    if (v > max) return Bad(path, "above the maximum of " + std::to_string(max));
    *out = v;
    return Status::OK();
  }

 private:
  const json& j_;
  std::string path_;
  std::vector<std::string> known_;
};

Status ExpectArray(const json& j, const std::string& path) {
  return j.is_array() ? Status::OK() : Bad(path, "expected an array");
}

// Ids travel in URLs, file names and SQL: the record-id alphabet of core/src/model/database.cc.
bool IsValidId(std::string_view id, size_t max_size) {
  if (id.empty() || id.size() > max_size) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

// Collection and field names: [a-z][a-z0-9_]{0,63}, as docs/schema.md requires.
bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxNodeBytes = 64;
constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

Status CheckId(const std::string& value, const std::string& path, size_t max_size) {
  if (IsValidId(value, max_size)) return Status::OK();
  return Bad(path,
             "expected 1 to " + std::to_string(max_size) + " characters of A-Z a-z 0-9 - _ . :");
}

Status ReadId(ObjectReader& r, const char* name, size_t max_size, std::string* out) {
  FIELDSYNC_RETURN_IF_ERROR(r.String(name, true, out));
  return CheckId(*out, r.PathOf(name), max_size);
}

Status ReadHlc(const json& j, const std::string& path, Hlc* out) {
  uint64_t packed = 0;
  FIELDSYNC_RETURN_IF_ERROR(
      ObjectReader::ReadUnsigned(j, path, std::numeric_limits<uint64_t>::max(), &packed));
  // Zero is never issued: a HybridClock starts from the physical time.
  if (packed == 0) return Bad(path, "expected a hybrid logical clock value above 0");
  *out = Hlc(packed);
  return Status::OK();
}

Status ReadNode(const json& j, const std::string& path, std::string* out) {
  if (!j.is_string()) return Bad(path, "expected a string");
  *out = j.get<std::string>();
  return CheckId(*out, path, kMaxNodeBytes);
}

// [hlc, "node"]
Status ReadVersion(const json& j, const std::string& path, Version* out) {
  if (!j.is_array() || j.size() != 2) return Bad(path, "expected [hlc, node]");
  FIELDSYNC_RETURN_IF_ERROR(ReadHlc(j[0], Element(path, 0), &out->hlc));
  return ReadNode(j[1], Element(path, 1), &out->node);
}

Status DecodeFieldWrite(const json& j, const std::string& path, FieldWrite* out) {
  ObjectReader r(j, path);
  FIELDSYNC_RETURN_IF_ERROR(r.Open());
  const json* v = r.Find("v");
  if (v != nullptr) out->value = *v;
  if (const json* b = r.Find("b")) {
    const std::string bpath = r.PathOf("b");
    FIELDSYNC_RETURN_IF_ERROR(ExpectArray(*b, bpath));
    for (size_t k = 0; k < b->size(); ++k) {
      Version version;
      FIELDSYNC_RETURN_IF_ERROR(ReadVersion((*b)[k], Element(bpath, k), &version));
      out->base.push_back(std::move(version));
    }
  }
  const json* add = r.Find("add");
  if (add != nullptr) {
    const std::string apath = r.PathOf("add");
    FIELDSYNC_RETURN_IF_ERROR(ExpectArray(*add, apath));
    for (size_t k = 0; k < add->size(); ++k) {
      if (!(*add)[k].is_string()) return Bad(Element(apath, k), "expected a string");
      out->set_add.push_back((*add)[k].get<std::string>());
    }
  }
  const json* rem = r.Find("rem");
  if (rem != nullptr) {
    const std::string rpath = r.PathOf("rem");
    FIELDSYNC_RETURN_IF_ERROR(ExpectArray(*rem, rpath));
    for (size_t k = 0; k < rem->size(); ++k) {
      const json& tag = (*rem)[k];
      const std::string tpath = Element(rpath, k);
      if (!tag.is_array() || tag.size() != 3 || !tag[0].is_string()) {
        return Bad(tpath, "expected [element, hlc, node]");
      }
      Version version;
      FIELDSYNC_RETURN_IF_ERROR(ReadHlc(tag[1], Element(tpath, 1), &version.hlc));
      FIELDSYNC_RETURN_IF_ERROR(ReadNode(tag[2], Element(tpath, 2), &version.node));
      out->set_remove.emplace_back(tag[0].get<std::string>(), std::move(version));
    }
  }
  if (v == nullptr && add == nullptr && rem == nullptr) {
    return Bad(path, "a field write needs \"v\", \"add\" or \"rem\"");
  }
  return r.Finish(/*strict=*/true);
}

struct ChangeContext {
  const std::string* node = nullptr;  // push: the request's node, the default of "n"
  int schema_version = 1;             // push: the request's, the default of "s"
  bool author_allowed = true;         // false in a push: the server sets the author
};

Status DecodeChangeJson(const json& j, const std::string& path, const ChangeContext& ctx,
                        Change* out) {
  ObjectReader r(j, path);
  FIELDSYNC_RETURN_IF_ERROR(r.Open());
  FIELDSYNC_RETURN_IF_ERROR(ReadId(r, "i", kMaxIdBytes, &out->change_id));
  FIELDSYNC_RETURN_IF_ERROR(r.String("c", true, &out->collection));
  if (!IsValidName(out->collection)) {
    return Bad(r.PathOf("c"), "expected a collection name ([a-z][a-z0-9_]*, at most 64)");
  }
  FIELDSYNC_RETURN_IF_ERROR(ReadId(r, "r", kMaxIdBytes, &out->record_id));
  std::string op = "upsert";
  FIELDSYNC_RETURN_IF_ERROR(r.String("o", false, &op));
  if (op == "upsert") {
    out->op = Change::Op::kUpsert;
  } else if (op == "delete") {
    out->op = Change::Op::kDelete;
  } else {
    return Bad(r.PathOf("o"), "expected \"upsert\" or \"delete\"");
  }
  const json* h = nullptr;
  FIELDSYNC_RETURN_IF_ERROR(r.Required("h", &h));
  FIELDSYNC_RETURN_IF_ERROR(ReadHlc(*h, r.PathOf("h"), &out->version.hlc));
  if (const json* n = r.Find("n")) {
    FIELDSYNC_RETURN_IF_ERROR(ReadNode(*n, r.PathOf("n"), &out->version.node));
  } else if (ctx.node != nullptr) {
    out->version.node = *ctx.node;
  } else {
    return Bad(r.PathOf("n"), "missing");
  }
  uint64_t schema_version = static_cast<uint64_t>(ctx.schema_version);
  FIELDSYNC_RETURN_IF_ERROR(r.Unsigned("s", ctx.node == nullptr, INT_MAX, &schema_version));
  if (schema_version == 0) return Bad(r.PathOf("s"), "expected a schema version of 1 or more");
  out->schema_version = static_cast<int>(schema_version);
  FIELDSYNC_RETURN_IF_ERROR(r.Bool("x", false, &out->recreate));
  if (out->recreate && out->op == Change::Op::kDelete) {
    return Bad(r.PathOf("x"), "a delete cannot recreate");
  }
  if (ctx.author_allowed) {
    FIELDSYNC_RETURN_IF_ERROR(r.String("a", false, &out->author));
  } else if (r.Find("a") != nullptr) {
    return Bad(r.PathOf("a"), "set by the server, not allowed in a push");
  }
  if (const json* f = r.Find("f")) {
    const std::string fpath = r.PathOf("f");
    if (!f->is_object()) return Bad(fpath, "expected an object");
    if (out->op == Change::Op::kDelete && !f->empty()) {
      return Bad(fpath, "a delete writes no fields");
    }
    for (const auto& [name, write] : f->items()) {
      const std::string wpath = Member(fpath, name);
      if (!IsValidName(name)) {
        return Bad(wpath, "expected a field name ([a-z][a-z0-9_]*, at most 64)");
      }
      FIELDSYNC_RETURN_IF_ERROR(DecodeFieldWrite(write, wpath, &out->fields[name]));
    }
  }
  return r.Finish(/*strict=*/true);
}

Status DecodeLimitsJson(const json& j, const std::string& path, Limits* out) {
  ObjectReader r(j, path);
  FIELDSYNC_RETURN_IF_ERROR(r.Open());
  uint64_t batch = 0;
  FIELDSYNC_RETURN_IF_ERROR(r.Unsigned("max_batch_changes", true, UINT32_MAX, &batch));
  if (batch == 0) return Bad(r.PathOf("max_batch_changes"), "expected 1 or more");
  out->max_batch_changes = static_cast<uint32_t>(batch);
  FIELDSYNC_RETURN_IF_ERROR(
      r.Unsigned("max_request_bytes", true, kMaxInt64, &out->max_request_bytes));
  FIELDSYNC_RETURN_IF_ERROR(
      r.Unsigned("max_response_bytes", true, kMaxInt64, &out->max_response_bytes));
  // A pull page must hold any change a push could carry, or that change would block the feed.
  if (out->max_response_bytes < out->max_request_bytes) {
    return Bad(r.PathOf("max_response_bytes"), "below max_request_bytes");
  }
  return r.Finish(/*strict=*/false);
}

Status ReadServerTime(ObjectReader& r, int64_t* out) {
  uint64_t t = 0;
  FIELDSYNC_RETURN_IF_ERROR(r.Unsigned("time_ms", true, kMaxInt64, &t));
  *out = static_cast<int64_t>(t);
  return Status::OK();
}

Status ReadArray(ObjectReader& r, const char* name, bool required, const DecodeLimits& limits,
                 const json** out) {
  *out = r.Find(name);
  if (*out == nullptr) return required ? Bad(r.PathOf(name), "missing") : Status::OK();
  FIELDSYNC_RETURN_IF_ERROR(ExpectArray(**out, r.PathOf(name)));
  if ((*out)->size() > limits.max_changes) {
    return Bad(r.PathOf(name), std::to_string((*out)->size()) + " elements, above the limit of " +
                                   std::to_string(limits.max_changes));
  }
  return Status::OK();
}

// Runs `decode` with the message parsed, turning any exception (allocation failure, or a bug in
// the checks above) into a Status: nothing crosses the API.
template <typename T, typename Fn>
Result<T> Decode(std::string_view text, const DecodeLimits& limits, Fn decode) {
  try {
    json j;
    FIELDSYNC_RETURN_IF_ERROR(ParseJson(text, limits, &j));
    T out;
    FIELDSYNC_RETURN_IF_ERROR(decode(j, &out));
    return out;
  } catch (const std::bad_alloc&) {
    return Status::Internal("out of memory decoding a message");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("decoding a message: ") + e.what());
  }
}

// ---- base64url ----------------------------------------------------------------------------------

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(acc << (6 - bits)) & 63]);
  return out;
}

// Only for inputs whose length is a multiple of 4 characters (3 bytes): no leftover bits to check.
bool Base64UrlDecode(std::string_view text, std::vector<uint8_t>* out) {
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = c == '\0' ? nullptr : std::strchr(kBase64Url, c);
    if (p == nullptr) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return bits == 0;
}

// ---- cursor -------------------------------------------------------------------------------------

constexpr uint8_t kCursorVersion = 1;
constexpr size_t kCursorBodyBytes = 1 + 8 + 4 + 4;
constexpr size_t kCursorTagBytes = 16;  // 128 bits: forging needs 2^128 tries per guess
constexpr size_t kCursorBytes = kCursorBodyBytes + kCursorTagBytes;
constexpr size_t kCursorChars = kCursorBytes / 3 * 4;
static_assert(kCursorBytes % 3 == 0, "cursor length must need no base64 padding");
// Domain separation: a tag made for a cursor can never pass for a tag of another use of the key.
constexpr char kCursorLabel[] = "fieldsync cursor v1";

void PutBigEndian(uint64_t v, int bytes, uint8_t* out) {
  for (int k = bytes - 1; k >= 0; --k) {
    out[k] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetBigEndian(const uint8_t* in, int bytes) {
  uint64_t v = 0;
  for (int k = 0; k < bytes; ++k) v = (v << 8) | in[k];
  return v;
}

Status CursorTag(const uint8_t* body, std::string_view key, uint8_t* tag) {
  if (key.size() < kMinCursorKeyBytes) {
    return Status::InvalidArgument("cursor key: " + std::to_string(key.size()) +
                                   " bytes, at least " + std::to_string(kMinCursorKeyBytes) +
                                   " needed");
  }
  uint8_t message[sizeof(kCursorLabel) + kCursorBodyBytes];
  std::memcpy(message, kCursorLabel, sizeof(kCursorLabel));  // with its NUL
  std::memcpy(message + sizeof(kCursorLabel), body, kCursorBodyBytes);
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message, sizeof(message), mac,
           &mac_size) == nullptr ||
      mac_size < kCursorTagBytes) {
    return Status::Internal("HMAC-SHA256 failed");
  }
  std::memcpy(tag, mac, kCursorTagBytes);
  OPENSSL_cleanse(mac, sizeof(mac));
  return Status::OK();
}

// ---- zlib ---------------------------------------------------------------------------------------

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip framing (RFC 1952)
constexpr size_t kInflateChunk = 64 * 1024;

}  // namespace

// ---- public API ---------------------------------------------------------------------------------

std::string EncodeChange(const Change& change) {
  return Dump(ChangeToJson(change, nullptr, 0, /*with_author=*/true));
}

Result<Change> DecodeChange(std::string_view text, const DecodeLimits& limits) {
  return Decode<Change>(text, limits, [](const json& j, Change* out) {
    return DecodeChangeJson(j, "", ChangeContext{}, out);
  });
}

std::string ChangeDigest(const Change& change) {
  const std::string canonical = Dump(ChangeToJson(change, nullptr, 0, /*with_author=*/false));
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int md_size = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), md, &md_size, EVP_sha256(), nullptr) != 1) {
    // SHA-256 of a memory buffer does not fail short of a broken OpenSSL; an empty digest then
    // equals no stored digest, so the change is refused rather than wrongly called a duplicate.
    return std::string();
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int k = 0; k < md_size; ++k) {
    hex.push_back(kHex[md[k] >> 4]);
    hex.push_back(kHex[md[k] & 15]);
  }
  return hex;
}

std::string EncodePushRequest(const PushRequest& request) {
  ojson out = ojson::object();
  out["node"] = request.node;
  out["schema"] = request.schema_version;
  ojson& changes = out["changes"] = ojson::array();
  for (const Change& c : request.changes) {
    changes.push_back(ChangeToJson(c, &request.node, request.schema_version, false));
  }
  return Dump(out);
}

Result<PushRequest> DecodePushRequest(std::string_view text, const DecodeLimits& limits) {
  return Decode<PushRequest>(text, limits, [&](const json& j, PushRequest* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    const json* node = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(r.Required("node", &node));
    FIELDSYNC_RETURN_IF_ERROR(ReadNode(*node, "node", &out->node));
    uint64_t schema_version = 0;
    FIELDSYNC_RETURN_IF_ERROR(r.Unsigned("schema", true, INT_MAX, &schema_version));
    if (schema_version == 0) return Bad("schema", "expected 1 or more");
    out->schema_version = static_cast<int>(schema_version);
    const json* changes = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(ReadArray(r, "changes", true, limits, &changes));
    const ChangeContext ctx{&out->node, out->schema_version, /*author_allowed=*/false};
    out->changes.resize(changes->size());
    for (size_t k = 0; k < changes->size(); ++k) {
      FIELDSYNC_RETURN_IF_ERROR(
          DecodeChangeJson((*changes)[k], Element("changes", k), ctx, &out->changes[k]));
    }
    return r.Finish(/*strict=*/true);
  });
}

std::string EncodePushResponse(const PushResponse& response) {
  ojson out = ojson::object();
  ojson& results = out["results"] = ojson::array();
  for (const PushResult& result : response.results) {
    ojson r = ojson::object();
    r["i"] = result.change_id;
    r["s"] = PushStatusName(result.status);
    if (!result.code.empty()) r["code"] = result.code;
    if (!result.reason.empty()) r["reason"] = result.reason;
    results.push_back(std::move(r));
  }
  out["time_ms"] = response.server_time_ms;
  return Dump(out);
}

Result<PushResponse> DecodePushResponse(std::string_view text, const DecodeLimits& limits) {
  return Decode<PushResponse>(text, limits, [&](const json& j, PushResponse* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    const json* results = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(ReadArray(r, "results", true, limits, &results));
    for (size_t k = 0; k < results->size(); ++k) {
      ObjectReader rr((*results)[k], Element("results", k));
      FIELDSYNC_RETURN_IF_ERROR(rr.Open());
      PushResult result;
      FIELDSYNC_RETURN_IF_ERROR(ReadId(rr, "i", kMaxIdBytes, &result.change_id));
      std::string status;
      FIELDSYNC_RETURN_IF_ERROR(rr.String("s", true, &status));
      if (status == "applied") {
        result.status = PushStatus::kApplied;
      } else if (status == "duplicate") {
        result.status = PushStatus::kDuplicate;
      } else if (status == "refused") {
        result.status = PushStatus::kRefused;
      } else {
        // Unknown statuses are errors, not ignored: a tablet that guessed would either drop an
        // unstored change from its outbox or resend a stored one forever.
        return Bad(rr.PathOf("s"), "expected \"applied\", \"duplicate\" or \"refused\"");
      }
      FIELDSYNC_RETURN_IF_ERROR(rr.String("code", false, &result.code));
      FIELDSYNC_RETURN_IF_ERROR(rr.String("reason", false, &result.reason));
      if (result.status == PushStatus::kRefused && result.code.empty()) {
        return Bad(rr.PathOf("code"), "missing (a refusal names its code)");
      }
      FIELDSYNC_RETURN_IF_ERROR(rr.Finish(/*strict=*/false));
      out->results.push_back(std::move(result));
    }
    FIELDSYNC_RETURN_IF_ERROR(ReadServerTime(r, &out->server_time_ms));
    return r.Finish(/*strict=*/false);
  });
}

std::string EncodePullResponse(const PullResponse& response) {
  // The changes are spliced in as text, so that encoded_changes go out as they are; the rest of
  // the envelope is one ordered object without them, whose opening brace is dropped.
  std::string out = "{\"changes\":[";
  bool first = true;
  for (const Change& c : response.changes) {
    if (!first) out += ',';
    first = false;
    out += Dump(ChangeToJson(c, nullptr, 0, true));
  }
  for (const std::string& encoded : response.encoded_changes) {
    if (!first) out += ',';
    first = false;
    out += encoded;
  }
  out += "],";
  ojson rest = ojson::object();
  if (!response.evicted.empty()) {
    ojson& evicted = rest["evicted"] = ojson::array();
    for (const RecordRef& ref : response.evicted) {
      evicted.push_back(ojson::array({ref.collection, ref.record_id}));
    }
  }
  rest["cursor"] = response.next_cursor;
  if (response.has_more) rest["more"] = true;
  rest["time_ms"] = response.server_time_ms;
  const std::string tail = Dump(rest);
  out.append(tail, 1, std::string::npos);
  return out;
}

Result<PullResponse> DecodePullResponse(std::string_view text, const DecodeLimits& limits) {
  return Decode<PullResponse>(text, limits, [&](const json& j, PullResponse* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    const json* changes = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(ReadArray(r, "changes", true, limits, &changes));
    out->changes.resize(changes->size());
    for (size_t k = 0; k < changes->size(); ++k) {
      FIELDSYNC_RETURN_IF_ERROR(DecodeChangeJson((*changes)[k], Element("changes", k),
                                                 ChangeContext{}, &out->changes[k]));
    }
    const json* evicted = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(ReadArray(r, "evicted", false, limits, &evicted));
    for (size_t k = 0; evicted != nullptr && k < evicted->size(); ++k) {
      const json& e = (*evicted)[k];
      const std::string epath = Element("evicted", k);
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string() ||
          !IsValidName(e[0].get<std::string>()) ||
          !IsValidId(e[1].get<std::string>(), kMaxIdBytes)) {
        return Bad(epath, "expected [collection, record id]");
      }
      out->evicted.push_back({e[0].get<std::string>(), e[1].get<std::string>()});
    }
    FIELDSYNC_RETURN_IF_ERROR(r.String("cursor", true, &out->next_cursor));
    if (out->next_cursor.empty()) return Bad("cursor", "empty");
    FIELDSYNC_RETURN_IF_ERROR(r.Bool("more", false, &out->has_more));
    FIELDSYNC_RETURN_IF_ERROR(ReadServerTime(r, &out->server_time_ms));
    return r.Finish(/*strict=*/false);
  });
}

std::string EncodeLimitsResponse(const LimitsResponse& response) {
  ojson out = ojson::object();
  out["limits"] = LimitsToJson(response.limits);
  out["time_ms"] = response.server_time_ms;
  return Dump(out);
}

Result<LimitsResponse> DecodeLimitsResponse(std::string_view text, const DecodeLimits& limits) {
  return Decode<LimitsResponse>(text, limits, [&](const json& j, LimitsResponse* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    const json* l = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(r.Required("limits", &l));
    FIELDSYNC_RETURN_IF_ERROR(DecodeLimitsJson(*l, "limits", &out->limits));
    FIELDSYNC_RETURN_IF_ERROR(ReadServerTime(r, &out->server_time_ms));
    return r.Finish(/*strict=*/false);
  });
}

std::string EncodeLoginRequest(const LoginRequest& request) {
  ojson out = ojson::object();
  out["user"] = request.user;
  out["password"] = request.password;
  ojson& device = out["device"] = ojson::object();
  device["name"] = request.device.name;
  device["platform"] = request.device.platform;
  device["id"] = request.device.id;
  return Dump(out);
}

Result<LoginRequest> DecodeLoginRequest(std::string_view text, const DecodeLimits& limits) {
  return Decode<LoginRequest>(text, limits, [&](const json& j, LoginRequest* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    FIELDSYNC_RETURN_IF_ERROR(r.String("user", true, &out->user));
    if (out->user.empty()) return Bad("user", "empty");
    FIELDSYNC_RETURN_IF_ERROR(r.String("password", true, &out->password));
    const json* device = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(r.Required("device", &device));
    ObjectReader d(*device, "device");
    FIELDSYNC_RETURN_IF_ERROR(d.Open());
    FIELDSYNC_RETURN_IF_ERROR(d.String("name", true, &out->device.name));
    FIELDSYNC_RETURN_IF_ERROR(d.String("platform", true, &out->device.platform));
    FIELDSYNC_RETURN_IF_ERROR(ReadId(d, "id", kMaxNodeBytes, &out->device.id));
    FIELDSYNC_RETURN_IF_ERROR(d.Finish(/*strict=*/true));
    return r.Finish(/*strict=*/true);
  });
}

std::string EncodeLoginResponse(const LoginResponse& response) {
  ojson out = ojson::object();
  out["token"] = response.token;
  out["expires_in_s"] = response.expires_in_s;
  if (!response.refresh_token.empty()) {
    out["refresh_token"] = response.refresh_token;
    out["refresh_expires_in_s"] = response.refresh_expires_in_s;
  }
  ojson& user = out["user"] = ojson::object();
  user["id"] = response.user.id;
  user["role"] = RoleName(response.user.role);
  user["teams"] = response.user.teams;
  out["limits"] = LimitsToJson(response.limits);
  out["time_ms"] = response.server_time_ms;
  return Dump(out);
}

Result<LoginResponse> DecodeLoginResponse(std::string_view text, const DecodeLimits& limits) {
  return Decode<LoginResponse>(text, limits, [&](const json& j, LoginResponse* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    FIELDSYNC_RETURN_IF_ERROR(r.String("token", true, &out->token));
    if (out->token.empty()) return Bad("token", "empty");
    uint64_t expires = 0;
    FIELDSYNC_RETURN_IF_ERROR(r.Unsigned("expires_in_s", true, kMaxInt64, &expires));
    out->expires_in_s = static_cast<int64_t>(expires);
    FIELDSYNC_RETURN_IF_ERROR(r.String("refresh_token", false, &out->refresh_token));
    if (!out->refresh_token.empty()) {
      uint64_t refresh_expires = 0;
      FIELDSYNC_RETURN_IF_ERROR(
          r.Unsigned("refresh_expires_in_s", true, kMaxInt64, &refresh_expires));
      out->refresh_expires_in_s = static_cast<int64_t>(refresh_expires);
    }
    const json* user = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(r.Required("user", &user));
    ObjectReader u(*user, "user");
    FIELDSYNC_RETURN_IF_ERROR(u.Open());
    FIELDSYNC_RETURN_IF_ERROR(u.String("id", true, &out->user.id));
    if (out->user.id.empty()) return Bad("user.id", "empty");
    std::string role;
    FIELDSYNC_RETURN_IF_ERROR(u.String("role", true, &role));
    if (role == "rep") {
      out->user.role = Role::kRep;
    } else if (role == "manager") {
      out->user.role = Role::kManager;
    } else if (role == "admin") {
      out->user.role = Role::kAdmin;
    } else {
      // Unknown roles are errors: the tablet would not know what the user may write.
      return Bad("user.role", "expected \"rep\", \"manager\" or \"admin\"");
    }
    const json* teams = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(ReadArray(u, "teams", true, limits, &teams));
    for (size_t k = 0; k < teams->size(); ++k) {
      if (!(*teams)[k].is_string()) return Bad(Element("user.teams", k), "expected a string");
      out->user.teams.push_back((*teams)[k].get<std::string>());
    }
    FIELDSYNC_RETURN_IF_ERROR(u.Finish(/*strict=*/false));
    const json* l = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(r.Required("limits", &l));
    FIELDSYNC_RETURN_IF_ERROR(DecodeLimitsJson(*l, "limits", &out->limits));
    FIELDSYNC_RETURN_IF_ERROR(ReadServerTime(r, &out->server_time_ms));
    return r.Finish(/*strict=*/false);
  });
}

std::string EncodeRefreshRequest(const RefreshRequest& request) {
  ojson out = ojson::object();
  out["refresh_token"] = request.refresh_token;
  return Dump(out);
}

Result<RefreshRequest> DecodeRefreshRequest(std::string_view text, const DecodeLimits& limits) {
  return Decode<RefreshRequest>(text, limits, [&](const json& j, RefreshRequest* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    FIELDSYNC_RETURN_IF_ERROR(r.String("refresh_token", true, &out->refresh_token));
    if (out->refresh_token.empty()) return Bad("refresh_token", "empty");
    return r.Finish(/*strict=*/true);
  });
}

std::string EncodeWipeDoneRequest(const WipeDoneRequest& request) {
  ojson out = ojson::object();
  out["device"] = request.device;
  out["receipt"] = request.receipt;
  return Dump(out);
}

Result<WipeDoneRequest> DecodeWipeDoneRequest(std::string_view text, const DecodeLimits& limits) {
  return Decode<WipeDoneRequest>(text, limits, [&](const json& j, WipeDoneRequest* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    FIELDSYNC_RETURN_IF_ERROR(ReadId(r, "device", kMaxNodeBytes, &out->device));
    FIELDSYNC_RETURN_IF_ERROR(r.String("receipt", true, &out->receipt));
    if (out->receipt.empty()) return Bad("receipt", "empty");
    return r.Finish(/*strict=*/true);
  });
}

std::string EncodeErrorBody(const ErrorBody& error) {
  ojson out = ojson::object();
  out["code"] = error.code;
  out["message"] = error.message;
  if (error.wipe) {
    out["wipe"] = true;
    out["wipe_receipt"] = error.wipe_receipt;
  }
  out["time_ms"] = error.server_time_ms;
  return Dump(out);
}

Result<ErrorBody> DecodeErrorBody(std::string_view text, const DecodeLimits& limits) {
  return Decode<ErrorBody>(text, limits, [&](const json& j, ErrorBody* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    FIELDSYNC_RETURN_IF_ERROR(r.String("code", true, &out->code));
    if (out->code.empty()) return Bad("code", "empty");
    FIELDSYNC_RETURN_IF_ERROR(r.String("message", true, &out->message));
    FIELDSYNC_RETURN_IF_ERROR(r.Bool("wipe", false, &out->wipe));
    if (out->wipe) FIELDSYNC_RETURN_IF_ERROR(r.String("wipe_receipt", true, &out->wipe_receipt));
    FIELDSYNC_RETURN_IF_ERROR(ReadServerTime(r, &out->server_time_ms));
    return r.Finish(/*strict=*/false);
  });
}

Result<std::string> EncodeCursor(const Cursor& cursor, std::string_view key) {
  std::array<uint8_t, kCursorBytes> raw{};
  raw[0] = kCursorVersion;
  PutBigEndian(cursor.watermark, 8, &raw[1]);
  PutBigEndian(cursor.feed_epoch, 4, &raw[9]);
  PutBigEndian(cursor.scope_epoch, 4, &raw[13]);
  FIELDSYNC_RETURN_IF_ERROR(CursorTag(raw.data(), key, &raw[kCursorBodyBytes]));
  return Base64UrlEncode(raw.data(), raw.size());
}

Result<Cursor> DecodeCursor(std::string_view text, std::string_view key) {
  if (text.size() != kCursorChars) {
    return Status::InvalidArgument("cursor: " + std::to_string(text.size()) + " characters, " +
                                   std::to_string(kCursorChars) + " expected");
  }
  std::vector<uint8_t> raw;
  raw.reserve(kCursorBytes);
  if (!Base64UrlDecode(text, &raw) || raw.size() != kCursorBytes) {
    return Status::InvalidArgument("cursor: not base64url");
  }
  uint8_t tag[kCursorTagBytes];
  FIELDSYNC_RETURN_IF_ERROR(CursorTag(raw.data(), key, tag));
  // Check the tag before reading anything, in constant time: a cursor is attacker-controlled.
  if (CRYPTO_memcmp(tag, raw.data() + kCursorBodyBytes, kCursorTagBytes) != 0) {
    return Status::InvalidArgument("cursor: authentication failed (altered, or not minted here)");
  }
  if (raw[0] != kCursorVersion) {
    return Status::InvalidArgument("cursor: version " + std::to_string(raw[0]) + " unknown");
  }
  Cursor cursor;
  cursor.watermark = GetBigEndian(&raw[1], 8);
  cursor.feed_epoch = static_cast<uint32_t>(GetBigEndian(&raw[9], 4));
  cursor.scope_epoch = static_cast<uint32_t>(GetBigEndian(&raw[13], 4));
  return cursor;
}

Result<std::string> Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("gzip: deflateInit2 failed");
  }
  std::string out;
  int rc = Z_OK;
  try {
    out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
    // zlib's API is not const-correct; deflate only reads next_in.
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    // deflateBound() guarantees one call with Z_FINISH completes.
    rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
  } catch (const std::bad_alloc&) {
    deflateEnd(&zs);
    return Status::Internal("gzip: out of memory");
  }
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Internal("gzip: deflate did not finish");
  return out;
}

Result<std::string> Gunzip(std::string_view data, size_t max_output) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    return Status::InvalidArgument("gzip body of " + std::to_string(data.size()) + " bytes");
  }
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    return Status::Internal("gunzip: inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  Status status;
  try {
    for (;;) {
      // Room for at most one byte beyond the cap: producing it proves the cap is exceeded.
      if (out.size() > max_output) {
        status = Status::InvalidArgument("gzip body expands beyond " + std::to_string(max_output) +
                                         " bytes");
        break;
      }
      const size_t left = max_output - out.size();
      const size_t room = left >= kInflateChunk ? kInflateChunk : left + 1;
      const size_t used = out.size();
      out.resize(used + room);
      zs.next_out = reinterpret_cast<Bytef*>(&out[used]);
      zs.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&zs, Z_NO_FLUSH);
      out.resize(used + room - zs.avail_out);
      if (rc == Z_STREAM_END) {
        if (zs.avail_in == 0) break;
        // Another gzip member follows (RFC 1952 allows several); decode it too.
        if (inflateReset(&zs) != Z_OK) {
          status = Status::Internal("gunzip: inflateReset failed");
          break;
        }
        continue;
      }
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
        status = Status::InvalidArgument("gzip body truncated");
        break;
      }
      if (rc == Z_MEM_ERROR) {
        status = Status::Internal("gunzip: out of memory");
        break;
      }
      status = Status::InvalidArgument(std::string("gzip body corrupt: ") +
                                       (zs.msg != nullptr ? zs.msg : "inflate failed"));
      break;
    }
  } catch (const std::bad_alloc&) {
    status = Status::Internal("gunzip: out of memory");
  }
  inflateEnd(&zs);
  if (!status.ok()) return status;
  if (out.size() > max_output) {
    return Status::InvalidArgument("gzip body expands beyond " + std::to_string(max_output) +
                                   " bytes");
  }
  return out;
}

// ---- back office ----------------------------------------------------------------------------

std::string EncodeResolveRequest(const ResolveRequest& request) {
  ojson out = ojson::object();
  out["value"] = ojson::parse(request.value.dump(-1, ' ', false, json::error_handler_t::replace));
  return Dump(out);
}

Result<ResolveRequest> DecodeResolveRequest(std::string_view text, const DecodeLimits& limits) {
  return Decode<ResolveRequest>(text, limits, [&](const json& j, ResolveRequest* out) -> Status {
    ObjectReader r(j, "");
    FIELDSYNC_RETURN_IF_ERROR(r.Open());
    const json* value = nullptr;
    FIELDSYNC_RETURN_IF_ERROR(r.Required("value", &value));
    out->value = *value;
    return r.Finish(/*strict=*/true);
  });
}

bool IsValidWireId(std::string_view id) { return IsValidId(id, kMaxIdBytes); }

bool IsValidWireName(std::string_view name) { return IsValidName(name); }

}  // namespace fieldsync::sync
