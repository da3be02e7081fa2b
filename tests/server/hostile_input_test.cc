// tests/server/hostile_input_test.cc: the hostile-input sweep of issue #6, from a real HTTP client
// (cpp-httplib) against the real server on 127.0.0.1, over every endpoint that takes input.
//
// Each input must get a 4xx with a JSON body {"code","message","time_ms"} (or, for a string that
// is legitimate data, be stored verbatim), and the server's file must hold exactly what it held
// before: every table's row count and SHA-256 of its rows, and the schema (sqlite_master), are
// compared before and after (db_snapshot.h). What http_test.cc and http_bad_request_test.cc
// already cover (malformed envelopes, mistyped members, oversized pushes and logins, a gzip bomb
// on push) is not repeated. docs/security.md §8.5 is the table of what each input got.
#include <atomic>
#include <cctype>
#include <functional>
#include <memory>

#include "http_test_util.h"

namespace fieldsync::server::testing {
namespace {

constexpr int64_t kMaxBody = 64 * 1024;

// The server with the login rate limiter off (every hostile login must reach the code under
// test, not the 429), a body cap of 64 KiB and a clock the test can move.
struct Hostile {
  std::shared_ptr<std::atomic<int64_t>> clock = std::make_shared<std::atomic<int64_t>>(kNowMs);
  std::unique_ptr<TestServer> server;
  std::string zhang, chen, boss, mallory;  // tokens
  std::string conflict;                    // an open conflict of cust-1 (notes)

  Hostile() {
    ServiceOptions options;
    options.limits.max_request_bytes = kMaxBody;
    options.limits.max_response_bytes = kMaxBody;
    options.now_ms = [c = clock] { return c->load(); };
    HttpServerOptions http;
    http.login_limits.failures_per_user = 0;
    http.login_limits.failures_per_address = 0;
    server = std::make_unique<TestServer>(options, http);
    World& w = server->world;
    std::vector<sync::Change> notes = ConflictingNotes("z", "cust-1", "zhang", "chen");
    REQUIRE(
        w.service
            ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("z-1", "cust-1", "上海明辉",
                                                                   "zhang", HlcAt(kNowMs - 1000)),
                                                          notes[0]}))
            .ok());
    REQUIRE(w.service->ApplyPush(w.As("chen"), Push("dev-chen", {notes[1]})).ok());
    zhang = server->Login("zhang");
    chen = server->Login("chen");
    boss = server->Login("boss");
    mallory = server->Login("mallory");
    conflict = JsonBody(Get("/v1/conflicts", zhang))["conflicts"][0]["id"];
  }

  httplib::Result Get(const std::string& path, const std::string& token) {
    return server->Client().Get(path, Bearer(token));
  }
  httplib::Result Post(const std::string& path, const std::string& token, const std::string& body,
                       httplib::Headers extra = {}) {
    httplib::Headers h = token.empty() ? httplib::Headers{} : Bearer(token);
    for (auto& kv : extra) h.insert(kv);
    return server->Client().Post(path, h, body, "application/json");
  }
  std::map<std::string, TableState> State() const { return server->State(); }
};

// Every byte but the unreserved ones percent-encoded, so the server decodes exactly `s`.
std::string Pct(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

const std::vector<std::string> kSqlStrings = {
    "'; DROP TABLE records; --",  "\" OR 1=1 --", "1' OR '1'='1",
    "x'); DELETE FROM audit; --", "zhang' --",
};

const std::vector<std::string> kBadUtf8 = {
    "\xff\xfe",          // never valid
    "ab\xc0\xaf",        // overlong '/'
    "\xed\xa0\x80",      // a UTF-16 surrogate
    "\xe5\xbc",          // truncated (张 is e5 bc a0)
    "\xf4\x90\x80\x80",  // above U+10FFFF
};

// A push body of one change, with `patch` applied to the change's JSON object (or to the envelope
// when `envelope` is set), so one member at a time can be made hostile.
std::string PushBody(const std::function<void(nlohmann::json&)>& patch, bool envelope = false) {
  nlohmann::json change = {
      {"i", "h-1"},
      {"c", "customers"},
      {"r", "cust-h"},
      {"h", HlcAt(kNowMs)},
      {"f",
       {{"kind", {{"v", "company"}}}, {"name", {{"v", "客户"}}}, {"owner_rep", {{"v", "zhang"}}}}}};
  nlohmann::json body = {{"node", "dev-zhang"}, {"schema", 1}, {"changes", {change}}};
  if (envelope) {
    patch(body);
  } else {
    patch(body["changes"][0]);
  }
  return body.dump();
}

// A JSON library refuses to write invalid UTF-8, so hostile bytes go in as kMark and are swapped
// in after dumping.
constexpr char kMark[] = "@@HOSTILE@@";
std::string Swap(std::string text, const std::string& bytes) {
  for (size_t at = text.find(kMark); at != std::string::npos; at = text.find(kMark, at)) {
    text.replace(at, sizeof(kMark) - 1, bytes);
    at += bytes.size();
  }
  return text;
}

std::string LoginBody(const std::string& user, const std::string& password, const std::string& name,
                      const std::string& platform, const std::string& id) {
  // Built by hand: a JSON library would refuse (or repair) the invalid UTF-8 these tests send.
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  return "{\"user\":" + quote(user) + ",\"password\":" + quote(password) +
         ",\"device\":{\"name\":" + quote(name) + ",\"platform\":" + quote(platform) +
         ",\"id\":" + quote(id) + "}}";
}

TEST_CASE("10,000 nested arrays or objects on every JSON endpoint are 400 and store nothing") {
  Hostile h;
  const auto before = h.State();
  const std::string arrays = std::string(10000, '[') + std::string(10000, ']');
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(10000, '}');
  const std::string resolve = "/v1/conflicts/" + h.conflict + "/resolve";
  for (const std::string& deep : {arrays, objects}) {
    // The whole body, then the same depth inside a member the endpoint accepts any JSON in or a
    // string (password), where a naive parser would recurse before any type check.
    CheckRefused(h.Post("/v1/login", "", deep), 400, sync::kErrorMalformed, "nested deeper");
    CheckRefused(h.Post("/v1/login", "", R"({"user":"zhang","password":)" + deep + "}"), 400,
                 sync::kErrorMalformed, "nested deeper");
    CheckRefused(h.Post("/v1/push", h.zhang, deep), 400, sync::kErrorMalformed, "nested deeper");
    CheckRefused(h.Post("/v1/push", h.zhang,
                        R"({"node":"dev-zhang","schema":1,"changes":[{"i":"d","c":"customers",)"
                        R"("r":"cust-d","h":1,"f":{"custom":{"v":)" +
                            deep + "}}}]}"),
                 400, sync::kErrorMalformed, "nested deeper");
    CheckRefused(h.Post(resolve, h.zhang, deep), 400, sync::kErrorMalformed, "nested deeper");
    CheckRefused(h.Post(resolve, h.zhang, R"({"value":)" + deep + "}"), 400, sync::kErrorMalformed,
                 "nested deeper");
  }
  // 33 levels is one too many; 32 is fine for the parser (the schema then judges the value).
  const std::string deep33 = std::string(32, '[') + std::string(32, ']');
  CheckRefused(h.Post(resolve, h.zhang, R"({"value":)" + deep33 + "}"), 400, sync::kErrorMalformed,
               "nested deeper than 32");
  CHECK(h.State() == before);
  const std::string deep31 = std::string(31, '[') + std::string(31, ']');
  CheckRefused(h.Post(resolve, h.zhang, R"({"value":)" + deep31 + "}"), 400, sync::kErrorInvalid,
               "notes");
  CHECK(h.State() == before);
}

TEST_CASE("SQL-looking strings are refused where ids go and stored verbatim where data goes") {
  Hostile h;
  World& w = h.server->world;
  for (const std::string& sql : kSqlStrings) {
    CAPTURE(sql);
    auto before = h.State();
    // Login: as a user name or a password they are just a wrong login (401, one message).
    CheckRefused(h.Post("/v1/login", "", LoginBody(sql, kPassword, "pad", "ios", "dev-x")), 401,
                 sync::kErrorUnauthenticated);
    CHECK(h.State() == before);
    CheckRefused(h.Post("/v1/login", "", LoginBody("zhang", sql, "pad", "ios", "dev-x")), 401,
                 sync::kErrorUnauthenticated);
    CHECK(ChangedTables(before, h.State()) == std::vector<std::string>{"audit"});  // login.failed
    before = h.State();
    CheckRefused(h.Post("/v1/login", "", LoginBody("zhang", kPassword, "pad", "ios", sql)), 400,
                 sync::kErrorMalformed, "device.id");
    // Ids, names and the node in a push: outside their alphabets, the whole push is malformed.
    CheckRefused(h.Post("/v1/push", h.zhang, PushBody([&](nlohmann::json& c) { c["i"] = sql; })),
                 400, sync::kErrorMalformed, "changes[0].i");
    CheckRefused(h.Post("/v1/push", h.zhang, PushBody([&](nlohmann::json& c) { c["c"] = sql; })),
                 400, sync::kErrorMalformed, "changes[0].c");
    CheckRefused(h.Post("/v1/push", h.zhang, PushBody([&](nlohmann::json& c) { c["r"] = sql; })),
                 400, sync::kErrorMalformed, "changes[0].r");
    CheckRefused(h.Post("/v1/push", h.zhang, PushBody([&](nlohmann::json& c) {
                          c["f"][sql] = {{"v", 1}};
                        })),
                 400, sync::kErrorMalformed, "changes[0].f");
    CheckRefused(
        h.Post("/v1/push", h.zhang, PushBody([&](nlohmann::json& b) { b["node"] = sql; }, true)),
        400, sync::kErrorMalformed, "node");
    // Cursor, path parameters, query parameters, the token.
    CheckRefused(h.Get("/v1/pull?schema=1&cursor=" + Pct(sql), h.zhang), 400, sync::kErrorBadCursor,
                 "cursor");
    CheckRefused(h.Get("/v1/records/customers/" + Pct(sql), h.boss), 400, sync::kErrorMalformed,
                 "id");
    CheckRefused(h.Get("/v1/records/" + Pct(sql) + "/cust-1", h.boss), 400, sync::kErrorMalformed,
                 "collection");
    CheckRefused(h.Post("/v1/conflicts/" + Pct(sql) + "/resolve", h.zhang, R"({"value":"x"})"), 400,
                 sync::kErrorMalformed, "id");
    CheckRefused(h.Get("/v1/conflicts?after=" + Pct(sql), h.zhang), 400, sync::kErrorMalformed,
                 "after");
    CheckRefused(h.Get("/v1/pull?schema=1", sql), 401, sync::kErrorUnauthenticated);
    // In the audit filters they are data: an admin looking for that user or record finds none.
    CHECK(JsonBody(h.Get("/v1/audit?user=" + Pct(sql), h.boss))["entries"].empty());
    CHECK(JsonBody(h.Get("/v1/audit?record=customers/" + Pct(sql), h.boss))["entries"].empty());
    CHECK(h.State() == before);
  }

  // As data they are stored byte for byte: a device's name and platform at login, a field value
  // in a push, a resolved note; and no table but those the request writes changes.
  const std::string drop = kSqlStrings[0];
  auto before = h.State();
  auto login = h.Post("/v1/login", "", LoginBody("li", kPassword, drop, kSqlStrings[1], "dev-li"));
  REQUIRE(login);
  CHECK(login->status == 200);
  CHECK(ChangedTables(before, h.State()) ==
        std::vector<std::string>{"audit", "auth_tokens", "device_status", "devices"});
  {
    Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
    REQUIRE(s.ok());
    Result<DeviceRow> device = (*s)->GetDevice(kTenant, "dev-li");
    REQUIRE(device.ok());
    CHECK(device->name == drop);
    CHECK(device->platform == kSqlStrings[1]);
  }
  before = h.State();
  auto pushed = h.Post("/v1/push", h.zhang, PushBody([&](nlohmann::json& c) {
                         c["f"]["name"]["v"] = drop;
                         c["f"]["address"]["v"] = kSqlStrings[1];
                       }));
  REQUIRE(pushed);
  REQUIRE(pushed->status == 200);
  CHECK(sync::DecodePushResponse(pushed->body)->results[0].status == sync::PushStatus::kApplied);
  CHECK(ChangedTables(before, h.State()) ==
        std::vector<std::string>{"applied_changes", "audit", "feed", "records", "tenants"});
  CHECK(h.State().at("records").rows == before.at("records").rows + 1);
  const nlohmann::json record = JsonBody(h.Get("/v1/records/customers/cust-h", h.zhang));
  CHECK(record["record"]["name"] == drop);
  CHECK(record["record"]["address"] == kSqlStrings[1]);
  const nlohmann::json resolved =
      JsonBody(h.Post("/v1/conflicts/" + h.conflict + "/resolve", h.zhang,
                      sync::EncodeResolveRequest({kSqlStrings[3]})));
  CHECK(resolved["record"]["notes"] == kSqlStrings[3]);
  CHECK(h.State().at("sqlite_master") == before.at("sqlite_master"));  // no table dropped
}

TEST_CASE("a forged, altered or expired token is 401 on every authenticated endpoint") {
  Hostile h;
  const std::string resolve = "/v1/conflicts/" + h.conflict + "/resolve";
  const std::string push = sync::EncodePushRequest(
      Push("dev-zhang", {Customer("t-1", "cust-t", "客户", "zhang", HlcAt(kNowMs))}));
  auto all = [&](const std::string& token) {
    std::vector<httplib::Result> out;  // Result is move-only: no initializer list
    out.push_back(h.Get("/v1/pull?schema=1", token));
    out.push_back(h.Post("/v1/push", token, push));
    out.push_back(h.Get("/v1/records/customers/cust-1", token));
    out.push_back(h.Get("/v1/conflicts", token));
    out.push_back(h.Post(resolve, token, R"({"value":"x"})"));
    out.push_back(h.Get("/v1/audit", token));
    return out;
  };
  // The right shape (43 base64url characters) under no secret the server ever issued; the real
  // token with one character changed, at the start, middle and end; the real token cut short or
  // extended; lower-cased.
  std::vector<std::string> bad = {"3q2-7wEVR1sXa9Yb0cPZkLmN4oT6uJ8hGfDe5iK1aZx"};
  for (size_t at : {size_t{0}, h.zhang.size() / 2, h.zhang.size() - 1}) {
    std::string flipped = h.zhang;
    flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
    bad.push_back(flipped);
  }
  bad.push_back(h.zhang.substr(0, 42));
  bad.push_back(h.zhang + "A");
  std::string lower = h.zhang;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower != h.zhang) bad.push_back(lower);
  const auto before = h.State();
  for (const std::string& token : bad) {
    CAPTURE(token);
    for (const httplib::Result& res : all(token))
      CheckRefused(res, 401, sync::kErrorUnauthenticated);
  }
  // Expired: the clock at the access token's expiry (15 minutes after login), then back.
  const int64_t expiry = kNowMs + ServiceOptions().token_lifetime_s * 1000;
  h.clock->store(expiry);
  for (const httplib::Result& res : all(h.zhang)) CheckRefused(res, 401, sync::kErrorTokenExpired);
  CHECK(h.State() == before);
  h.clock->store(expiry - 1);
  auto alive = h.Get("/v1/conflicts", h.zhang);
  REQUIRE(alive);
  CHECK(alive->status == 200);
}

TEST_CASE("another tenant's ids read, write, resolve and confirm nothing on any endpoint") {
  Hostile h;
  World& w = h.server->world;
  auto row_of = [&](const std::string& tenant, const std::string& id) {
    Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
    REQUIRE(s.ok());
    Result<std::optional<RecordRow>> row = (*s)->GetRecord(tenant, "customers", id);
    REQUIRE(row.ok());
    return row->has_value() ? (*row)->state_json : std::string("(none)");
  };
  const std::string ours = row_of(kTenant, "cust-1");
  const std::string theirs = row_of(kOtherTenant, kOtherCustomer);
  auto before = h.State();

  // Reads: the same 404 as a missing id, both ways.
  const std::string missing_record = h.Get("/v1/records/customers/cust-nope", h.boss)->body;
  CHECK(h.Get(std::string("/v1/records/customers/") + kOtherCustomer, h.boss)->body ==
        missing_record);
  CHECK(h.Get("/v1/records/customers/cust-1", h.mallory)->body == missing_record);
  // Resolve: the same 404 as an unknown conflict id, both ways.
  const std::string unknown_conflict =
      h.Post("/v1/conflicts/" + std::string(64, 'f') + "/resolve", h.boss, R"({"value":"x"})")
          ->body;
  CHECK(h.Post("/v1/conflicts/" + h.server->other_conflict + "/resolve", h.boss, R"({"value":"x"})")
            ->body == unknown_conflict);
  CHECK(h.Post("/v1/conflicts/" + h.conflict + "/resolve", h.mallory, R"({"value":"x"})")->body ==
        unknown_conflict);
  // Lists and the trail: nothing of the other tenant, and the same answer as for a missing id.
  const nlohmann::json ours_listed = JsonBody(h.Get("/v1/conflicts", h.boss));
  REQUIRE(ours_listed["conflicts"].size() == 1);
  CHECK(ours_listed["conflicts"][0]["id"] == h.conflict);
  CHECK(h.Get(std::string("/v1/audit?record=customers/") + kOtherCustomer, h.boss)->body ==
        h.Get("/v1/audit?record=customers/cust-nope", h.boss)->body);
  CHECK(h.Get("/v1/audit?user=mallory", h.boss)->body ==
        h.Get("/v1/audit?user=nobody", h.boss)->body);
  // Pull: nothing of the other tenant.
  Result<sync::PullResponse> pulled =
      sync::DecodePullResponse(h.Get("/v1/pull?schema=1", h.mallory)->body);
  REQUIRE(pulled.ok());
  for (const sync::Change& c : pulled->changes) CHECK(c.record_id == kOtherCustomer);
  CHECK(h.State() == before);

  // Writes: a contact hung off the other tenant's customer is refused exactly like one hung off a
  // missing customer, and nothing is stored.
  auto contact = [&](const std::string& id, const std::string& customer) {
    return Upsert(id, "contacts", id, {{"customer", customer}, {"name", "王芳"}}, "dev-zhang",
                  HlcAt(kNowMs));
  };
  auto res = h.Post("/v1/push", h.zhang,
                    sync::EncodePushRequest(Push("dev-zhang", {contact("k-1", kOtherCustomer),
                                                               contact("k-2", "cust-nope")})));
  REQUIRE(res);
  Result<sync::PushResponse> refused = sync::DecodePushResponse(res->body);
  REQUIRE(refused.ok());
  for (const sync::PushResult& r : refused->results) {
    CHECK(r.status == sync::PushStatus::kRefused);
    CHECK(r.code == sync::kRefusedForbidden);
  }
  auto without_id = [](std::string reason, const std::string& id) {
    return reason.replace(reason.find(id), id.size(), "<id>");
  };
  CHECK(without_id(refused->results[0].reason, kOtherCustomer) ==
        without_id(refused->results[1].reason, "cust-nope"));
  CHECK(h.State() == before);
  // Writing a record under the same id as the other tenant's writes this tenant's record only.
  before = h.State();
  auto same_id = h.Post(
      "/v1/push", h.mallory,
      sync::EncodePushRequest(Push(
          "dev-mallory", {Upsert("m-9", "customers", "cust-1",
                                 {{"kind", "company"}, {"name", "冒名"}, {"owner_rep", "mallory"}},
                                 "dev-mallory", HlcAt(kNowMs))})));
  REQUIRE(same_id);
  CHECK(sync::DecodePushResponse(same_id->body)->results[0].status == sync::PushStatus::kApplied);
  CHECK(row_of(kTenant, "cust-1") == ours);
  CHECK(row_of(kOtherTenant, kOtherCustomer) == theirs);
  CHECK(JsonBody(h.Get("/v1/records/customers/cust-1", h.boss))["record"]["name"] == "上海明辉");
  CHECK(JsonBody(h.Get("/v1/records/customers/cust-1", h.mallory))["record"]["name"] == "冒名");
}

TEST_CASE(
    "a replayed change with altered content under the same id is refused and stores nothing") {
  Hostile h;
  sync::Change original = Customer("r-1", "cust-r", "原来的名字", "zhang", HlcAt(kNowMs));
  auto first = h.Post("/v1/push", h.zhang, sync::EncodePushRequest(Push("dev-zhang", {original})));
  REQUIRE(first);
  CHECK(sync::DecodePushResponse(first->body)->results[0].status == sync::PushStatus::kApplied);
  const auto before = h.State();
  std::vector<sync::Change> altered(4, original);
  altered[0].fields["name"].value = "改过的名字";  // another value
  altered[1].version.hlc = Hlc(HlcAt(kNowMs, 7));  // another version
  altered[2].fields["grade"].value = "A";          // one more field
  altered[3].op = sync::Change::Op::kDelete;       // another operation
  altered[3].fields.clear();
  for (const sync::Change& c : altered) {
    auto res = h.Post("/v1/push", h.zhang, sync::EncodePushRequest(Push("dev-zhang", {c})));
    REQUIRE(res);
    Result<sync::PushResponse> r = sync::DecodePushResponse(res->body);
    REQUIRE(r.ok());
    CHECK(r->results[0].status == sync::PushStatus::kRefused);
    CHECK(r->results[0].code == sync::kRefusedIdReused);
  }
  // Replayed by another user of the same tenant: still the same id, still refused.
  sync::Change by_chen = altered[0];
  by_chen.version.node = "dev-chen";
  auto chen = h.Post("/v1/push", h.chen, sync::EncodePushRequest(Push("dev-chen", {by_chen})));
  REQUIRE(chen);
  CHECK(sync::DecodePushResponse(chen->body)->results[0].code == sync::kRefusedIdReused);
  CHECK(h.State() == before);
  CHECK(JsonBody(h.Get("/v1/records/customers/cust-r", h.zhang))["record"]["name"] == "原来的名字");
}

TEST_CASE("invalid UTF-8 in every string position is 400 JSON and stores nothing") {
  Hostile h;
  const auto before = h.State();
  const std::string resolve = "/v1/conflicts/" + h.conflict + "/resolve";
  for (const std::string& bad : kBadUtf8) {
    const std::string escaped = Pct(bad);
    CAPTURE(escaped);
    const std::string pw = kPassword;
    for (const std::string& body :
         {LoginBody(bad, pw, "pad", "ios", "dev-x"), LoginBody("zhang", bad, "pad", "ios", "dev-x"),
          LoginBody("zhang", pw, bad, "ios", "dev-x"), LoginBody("zhang", pw, "pad", bad, "dev-x"),
          LoginBody("zhang", pw, "pad", "ios", bad)}) {
      CheckRefused(h.Post("/v1/login", "", body), 400, sync::kErrorMalformed);
    }
    const std::vector<std::function<void(nlohmann::json&)>> change_patches = {
        [&](nlohmann::json& c) { c["i"] = kMark; },
        [&](nlohmann::json& c) { c["c"] = kMark; },
        [&](nlohmann::json& c) { c["r"] = kMark; },
        [&](nlohmann::json& c) {
          c["f"][kMark] = {{"v", 1}};
        },
        [&](nlohmann::json& c) { c["f"]["name"]["v"] = kMark; },
        [&](nlohmann::json& c) {
          c["f"]["tags"] = {{"add", {kMark}}};
        },
    };
    for (const auto& patch : change_patches) {
      CheckRefused(h.Post("/v1/push", h.zhang, Swap(PushBody(patch), bad)), 400,
                   sync::kErrorMalformed);
    }
    CheckRefused(h.Post("/v1/push", h.zhang,
                        Swap(PushBody([&](nlohmann::json& b) { b["node"] = kMark; }, true), bad)),
                 400, sync::kErrorMalformed);
    CheckRefused(h.Post(resolve, h.zhang, "{\"value\":\"" + bad + "\"}"), 400,
                 sync::kErrorMalformed);
    CheckRefused(h.Get("/v1/records/customers/" + Pct(bad), h.boss), 400, sync::kErrorMalformed,
                 "id");
    CheckRefused(h.Get("/v1/records/" + Pct(bad) + "/cust-1", h.boss), 400, sync::kErrorMalformed,
                 "collection");
    CheckRefused(h.Post("/v1/conflicts/" + Pct(bad) + "/resolve", h.zhang, R"({"value":"x"})"), 400,
                 sync::kErrorMalformed, "id");
    CheckRefused(h.Get("/v1/pull?schema=1&cursor=" + Pct(bad), h.zhang), 400, sync::kErrorBadCursor,
                 "cursor");
    CheckRefused(h.Get("/v1/conflicts?after=" + Pct(bad), h.zhang), 400, sync::kErrorMalformed,
                 "after");
    CheckRefused(h.Get("/v1/audit?user=" + Pct(bad), h.boss), 400, sync::kErrorMalformed, "user");
    CheckRefused(h.Get("/v1/audit?record=customers/" + Pct(bad), h.boss), 400,
                 sync::kErrorMalformed, "record");
    CheckRefused(h.Get("/v1/pull?schema=1", h.zhang.substr(0, 40) + bad), 401,
                 sync::kErrorUnauthenticated);
  }
  CHECK(h.State() == before);
}

TEST_CASE("huge bodies on every POST endpoint are 413, sent whole, chunked or gzipped") {
  Hostile h;
  const auto before = h.State();
  const std::string resolve = "/v1/conflicts/" + h.conflict + "/resolve";
  // Each body is valid JSON for its endpoint, only too large.
  const std::string big(kMaxBody + 1024, 'x');
  const std::vector<std::pair<std::string, std::string>> posts = {
      {"/v1/login", LoginBody("zhang", big, "pad", "ios", "dev-zhang")},
      {"/v1/push", PushBody([&](nlohmann::json& c) {
         c["f"]["notes"] = {{"v", big}};
       })},
      {resolve, sync::EncodeResolveRequest({big})},
  };
  Result<std::string> bomb = sync::Gzip(sync::EncodeResolveRequest({std::string(1 << 22, ' ')}));
  REQUIRE(bomb.ok());
  REQUIRE(bomb->size() < static_cast<size_t>(kMaxBody));
  for (const auto& [path, body] : posts) {
    CAPTURE(path);
    const std::string token = path == "/v1/login" ? "" : h.zhang;
    CheckRefused(h.Post(path, token, body), 413, sync::kErrorTooLarge);
    CheckRefused(h.Post(path, token, *bomb, {{"Content-Encoding", "gzip"}}), 413,
                 sync::kErrorTooLarge);
    // Chunked: no Content-Length, so the server counts as it reads and stops at the cap.
    httplib::Headers headers = token.empty() ? httplib::Headers{} : Bearer(token);
    auto chunked = h.server->Client().Post(
        path, headers,
        [&](size_t offset, httplib::DataSink& sink) {
          const size_t n = std::min<size_t>(8192, body.size() - offset);
          sink.write(body.data() + offset, n);
          if (offset + n == body.size()) sink.done();
          return true;
        },
        "application/json");
    // The whole body fits the loopback socket's buffers, so the client finishes sending before
    // the server's early answer and close could break its write.
    CheckRefused(chunked, 413, sync::kErrorTooLarge);
  }
  CHECK(h.State() == before);
  // Just below the cap is read and judged.
  auto fits = h.Post(resolve, h.zhang, sync::EncodeResolveRequest({std::string(1000, 'y')}));
  REQUIRE(fits);
  CHECK(fits->status == 200);
}

}  // namespace
}  // namespace fieldsync::server::testing
