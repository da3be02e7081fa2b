// tests/sync/wire_format_test.cc: protocol v1 messages round-trip, strict decoding names the path
// of the first bad member, cursors resist tampering, gzip refuses bombs, and the encoding meets
// the byte budgets of the sync issue (<= 120 bytes per edit in a gzipped push of 1,000; <= 1 KB
// for a sync of one one-field edit, headers included). See docs/protocol.md.
#include "fieldsync/sync/wire_format.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace fieldsync::sync {
namespace {

using nlohmann::json;

constexpr uint64_t kHlc = uint64_t{1732343971123} << 16;  // 2024-11-23T06:39:31.123Z, logical 0
const std::string kNode = "3f9a1c2b7d4e8f60";
const std::string kKey(32, 'k');

Change OneFieldEdit() {
  Change c;
  c.change_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  c.collection = "customers";
  c.record_id = "3f2b8c1e-5d4a-4b6f-9e2d-1a7c8b9d0e3f";
  c.version = Version{Hlc(kHlc), kNode};
  c.fields["grade"].value = "A";
  return c;
}

// A change using every member: Chinese text, an explicit null, a review base, set adds and removes.
Change FullChange() {
  Change c = OneFieldEdit();
  c.schema_version = 2;
  c.recreate = true;
  c.author = "rep-zhangwei";
  c.fields["name"].value = "上海明辉贸易有限公司";
  c.fields["website"].value = nullptr;
  FieldWrite& notes = c.fields["notes"];
  notes.value = "客户希望下周二上午拜访，带上新报价单。";
  notes.base = {Version{Hlc(kHlc - 5000), "a1b2c3d4e5f60718"}, Version{Hlc(kHlc - 7), kNode}};
  FieldWrite& tags = c.fields["tags"];
  tags.set_add = {"高价值", "华东"};
  tags.set_remove = {{"沉默", Version{Hlc(kHlc - 99), "a1b2c3d4e5f60718"}}};
  c.fields["custom"].value = json::parse(R"({"来源":"展会","层级":[1,2.5,null,{"x":true}]})");
  return c;
}

void CheckSameChange(const Change& a, const Change& b) {
  CHECK(a.change_id == b.change_id);
  CHECK(a.collection == b.collection);
  CHECK(a.record_id == b.record_id);
  CHECK(a.op == b.op);
  CHECK(a.version == b.version);
  CHECK(a.recreate == b.recreate);
  CHECK(a.author == b.author);
  CHECK(a.schema_version == b.schema_version);
  REQUIRE(a.fields.size() == b.fields.size());
  for (const auto& [name, wa] : a.fields) {
    INFO("field " << name);
    const FieldWrite& wb = b.fields.at(name);
    CHECK(wa.value == wb.value);
    CHECK(wa.base == wb.base);
    CHECK(wa.set_add == wb.set_add);
    CHECK(wa.set_remove == wb.set_remove);
  }
}

// The message of decoding `text` as a push; "" if it decoded.
std::string PushError(const std::string& text, const DecodeLimits& limits = {}) {
  Result<PushRequest> r = DecodePushRequest(text, limits);
  if (r.ok()) return "";
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  return r.status().message();
}

// A one-change push body with `change` spliced in as JSON text.
std::string PushWith(const std::string& change) {
  return R"({"node":"3f9a1c2b7d4e8f60","schema":1,"changes":[)" + change + "]}";
}

TEST_CASE("wire: a one-field edit encodes to the bytes docs/protocol.md shows") {
  CHECK(EncodeChange(OneFieldEdit()) ==
        R"({"i":"7c9e6679-7425-40de-944b-e07fc1f90ae7","c":"customers",)"
        R"("r":"3f2b8c1e-5d4a-4b6f-9e2d-1a7c8b9d0e3f","h":113530894491516928,)"
        R"("n":"3f9a1c2b7d4e8f60","s":1,"f":{"grade":{"v":"A"}}})");
  PushRequest push{kNode, 1, {OneFieldEdit()}};
  CHECK(EncodePushRequest(push) ==
        R"({"node":"3f9a1c2b7d4e8f60","schema":1,"changes":[)"
        R"({"i":"7c9e6679-7425-40de-944b-e07fc1f90ae7","c":"customers",)"
        R"("r":"3f2b8c1e-5d4a-4b6f-9e2d-1a7c8b9d0e3f","h":113530894491516928,)"
        R"("f":{"grade":{"v":"A"}}}]})");
}

TEST_CASE("wire: a change with Chinese text, nulls, bases and set operations round-trips") {
  const Change change = FullChange();
  const std::string text = EncodeChange(change);
  CHECK(text.find("上海明辉贸易有限公司") != std::string::npos);  // UTF-8, not \u escapes
  Result<Change> back = DecodeChange(text);
  REQUIRE(back.ok());
  CheckSameChange(change, *back);
  CHECK(back->fields.at("website").value.is_null());
  CHECK(EncodeChange(*back) == text);
}

TEST_CASE("wire: a delete round-trips without fields") {
  Change del = OneFieldEdit();
  del.op = Change::Op::kDelete;
  del.fields.clear();
  const std::string text = EncodeChange(del);
  CHECK(text.find(R"("o":"delete")") != std::string::npos);
  CHECK(text.find(R"("f")") == std::string::npos);
  Result<Change> back = DecodeChange(text);
  REQUIRE(back.ok());
  CheckSameChange(del, *back);
}

TEST_CASE("wire: a push states node and schema version once, changes that differ keep their own") {
  Change same = OneFieldEdit();
  same.schema_version = 2;
  Change older = FullChange();
  older.author.clear();      // a push carries no author
  older.schema_version = 1;  // queued before the upgrade to 2
  Change other_node = OneFieldEdit();
  other_node.change_id = "c2";
  other_node.version.node = "0000000000000001";
  other_node.schema_version = 2;
  PushRequest push{kNode, 2, {same, older, other_node}};
  const std::string text = EncodePushRequest(push);
  Result<PushRequest> back = DecodePushRequest(text);
  REQUIRE(back.ok());
  CHECK(back->node == kNode);
  CHECK(back->schema_version == 2);
  REQUIRE(back->changes.size() == 3);
  CheckSameChange(push.changes[0], back->changes[0]);
  CheckSameChange(push.changes[1], back->changes[1]);
  CheckSameChange(push.changes[2], back->changes[2]);
  // Node and version are written only where they differ from the request's.
  const json j = json::parse(text);
  CHECK_FALSE(j["changes"][0].contains("n"));
  CHECK_FALSE(j["changes"][0].contains("s"));
  CHECK(j["changes"][1]["s"] == 1);
  CHECK(j["changes"][2]["n"] == "0000000000000001");
}

TEST_CASE("wire: push, pull, limits, login and error messages round-trip") {
  SUBCASE("push response") {
    PushResponse r;
    r.results = {
        {"a1", PushStatus::kApplied, "", ""},
        {"a2", PushStatus::kDuplicate, "", ""},
        {"a3", PushStatus::kRefused, "forbidden", "customers.credit_level 只能由服务器写入"}};
    r.server_time_ms = 1732343971123;
    Result<PushResponse> back = DecodePushResponse(EncodePushResponse(r));
    REQUIRE(back.ok());
    REQUIRE(back->results.size() == 3);
    for (size_t k = 0; k < 3; ++k) {
      CHECK(back->results[k].change_id == r.results[k].change_id);
      CHECK(back->results[k].status == r.results[k].status);
      CHECK(back->results[k].code == r.results[k].code);
      CHECK(back->results[k].reason == r.results[k].reason);
    }
    CHECK(back->server_time_ms == r.server_time_ms);
  }
  SUBCASE("pull response") {
    PullResponse r;
    r.changes = {FullChange(), OneFieldEdit()};
    r.evicted = {{"customers", "9d0e3f1a-7c8b-4b6f-9e2d-3f2b8c1e5d4a"}};
    r.next_cursor = "AQAAAAAAAAAqAAAAAQAAAAKrzN3u_wARIjNEVWZ3iJk";
    r.has_more = true;
    r.server_time_ms = 1732343971999;
    Result<PullResponse> back = DecodePullResponse(EncodePullResponse(r));
    REQUIRE(back.ok());
    REQUIRE(back->changes.size() == 2);
    CheckSameChange(r.changes[0], back->changes[0]);
    CheckSameChange(r.changes[1], back->changes[1]);
    CHECK(back->evicted == r.evicted);
    CHECK(back->next_cursor == r.next_cursor);
    CHECK(back->has_more);
    CHECK(back->server_time_ms == r.server_time_ms);
  }
  SUBCASE("limits") {
    LimitsResponse r{Limits{500, 2u << 20, 8u << 20}, 42};
    Result<LimitsResponse> back = DecodeLimitsResponse(EncodeLimitsResponse(r));
    REQUIRE(back.ok());
    CHECK(back->limits == r.limits);
    CHECK(back->server_time_ms == 42);
  }
  SUBCASE("login") {
    LoginRequest req{"zhangwei@minghui.cn", "密码 with spaces \" and \\",
                     DeviceInfo{"张伟的 iPad", "ios 17.2", kNode}};
    Result<LoginRequest> req_back = DecodeLoginRequest(EncodeLoginRequest(req));
    REQUIRE(req_back.ok());
    CHECK(req_back->user == req.user);
    CHECK(req_back->password == req.password);
    CHECK(req_back->device.name == req.device.name);
    CHECK(req_back->device.platform == req.device.platform);
    CHECK(req_back->device.id == req.device.id);

    LoginResponse resp;
    resp.token = "tok_3q2-7wEVR1sXa9Yb0cPZkLmN4oT6uJ8hGfDe5iK1";
    resp.expires_in_s = 30 * 24 * 3600;
    resp.user = UserInfo{"u-1024", Role::kManager, {"华东一组", "华东二组"}};
    resp.limits = Limits{1000, 4u << 20, 4u << 20};
    resp.server_time_ms = 1732343971123;
    Result<LoginResponse> resp_back = DecodeLoginResponse(EncodeLoginResponse(resp));
    REQUIRE(resp_back.ok());
    CHECK(resp_back->token == resp.token);
    CHECK(resp_back->expires_in_s == resp.expires_in_s);
    CHECK(resp_back->user.id == "u-1024");
    CHECK(resp_back->user.role == Role::kManager);
    CHECK(resp_back->user.teams == resp.user.teams);
    CHECK(resp_back->limits == resp.limits);
    CHECK(resp_back->server_time_ms == resp.server_time_ms);
  }
  SUBCASE("error body") {
    ErrorBody e{kErrorTooLarge, "请求体 5242880 字节，超过上限 4194304", 7};
    Result<ErrorBody> back = DecodeErrorBody(EncodeErrorBody(e));
    REQUIRE(back.ok());
    CHECK(back->code == e.code);
    CHECK(back->message == e.message);
    CHECK(back->server_time_ms == 7);
  }
}

TEST_CASE("wire: refresh tokens, refresh and wipe-done requests, and the erase order") {
  LoginResponse resp;
  resp.token = "3q2-7wEVR1sXa9Yb0cPZkLmN4oT6uJ8hGfDe5iK1aZx";
  resp.expires_in_s = 900;
  resp.user = UserInfo{"u-1024", Role::kRep, {"华东一组"}};
  resp.server_time_ms = 1732343971123;
  // A server without refresh tokens writes none, and the tablet reads an empty one.
  const std::string old_style = EncodeLoginResponse(resp);
  CHECK(old_style.find("refresh") == std::string::npos);
  Result<LoginResponse> old_back = DecodeLoginResponse(old_style);
  REQUIRE(old_back.ok());
  CHECK(old_back->refresh_token.empty());

  resp.refresh_token = "Zx9-aKi5eDfGh8Ju6To4NmLkZPc0bY9aXs1RVEw7-2q";
  resp.refresh_expires_in_s = 30 * 24 * 3600;
  const std::string encoded = EncodeLoginResponse(resp);
  CHECK(
      encoded.rfind(R"({"token":"3q2-7wEVR1sXa9Yb0cPZkLmN4oT6uJ8hGfDe5iK1aZx","expires_in_s":900,)"
                    R"("refresh_token":"Zx9-aKi5eDfGh8Ju6To4NmLkZPc0bY9aXs1RVEw7-2q",)"
                    R"("refresh_expires_in_s":2592000,"user":)",
                    0) == 0);
  Result<LoginResponse> back = DecodeLoginResponse(encoded);
  REQUIRE(back.ok());
  CHECK(back->refresh_token == resp.refresh_token);
  CHECK(back->refresh_expires_in_s == 2592000);
  // A refresh token without its lifetime is a broken response.
  std::string no_lifetime = encoded;
  no_lifetime.erase(no_lifetime.find(R"("refresh_expires_in_s":2592000,)"),
                    std::string(R"("refresh_expires_in_s":2592000,)").size());
  CHECK(DecodeLoginResponse(no_lifetime).status().message() == "refresh_expires_in_s: missing");

  const std::string refresh = EncodeRefreshRequest(RefreshRequest{resp.refresh_token});
  CHECK(refresh == R"({"refresh_token":"Zx9-aKi5eDfGh8Ju6To4NmLkZPc0bY9aXs1RVEw7-2q"})");
  Result<RefreshRequest> refresh_back = DecodeRefreshRequest(refresh);
  REQUIRE(refresh_back.ok());
  CHECK(refresh_back->refresh_token == resp.refresh_token);
  CHECK(DecodeRefreshRequest("{}").status().message() == "refresh_token: missing");
  CHECK(DecodeRefreshRequest(R"({"refresh_token":""})").status().message() ==
        "refresh_token: empty");
  CHECK(DecodeRefreshRequest(R"({"refresh_token":"x","password":"p"})").status().message() ==
        "password: unknown member");

  const std::string done = EncodeWipeDoneRequest(WipeDoneRequest{kNode, "receipt"});
  Result<WipeDoneRequest> done_back = DecodeWipeDoneRequest(done);
  REQUIRE(done_back.ok());
  CHECK(done_back->device == kNode);
  CHECK(done_back->receipt == "receipt");
  CHECK_FALSE(DecodeWipeDoneRequest(R"({"device":"a b","receipt":"r"})").ok());
  CHECK(DecodeWipeDoneRequest(R"({"device":"n1"})").status().message() == "receipt: missing");

  ErrorBody order{kErrorDeviceRevoked, "device revoked", 7};
  CHECK(EncodeErrorBody(order).find("wipe") == std::string::npos);  // only when set
  order.wipe = true;
  order.wipe_receipt = "r3c";
  CHECK(EncodeErrorBody(order) ==
        R"({"code":"device_revoked","message":"device revoked","wipe":true,"wipe_receipt":"r3c",)"
        R"("time_ms":7})");
  Result<ErrorBody> order_back = DecodeErrorBody(EncodeErrorBody(order));
  REQUIRE(order_back.ok());
  CHECK(order_back->wipe);
  CHECK(order_back->wipe_receipt == "r3c");
  CHECK(DecodeErrorBody(R"({"code":"device_revoked","message":"m","wipe":true,"time_ms":1})")
            .status()
            .message() == "wipe_receipt: missing");
  CHECK_FALSE(DecodeErrorBody(R"({"code":"c","message":"m","wipe":"yes","time_ms":1})").ok());
}

TEST_CASE("wire: an unknown member of a change is refused wherever the change appears") {
  const std::string change =
      R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"grade":{"v":"A"}},"zz":1})";
  CHECK(PushError(PushWith(change)) == "changes[0].zz: unknown member");
  // A pull's changes name their node and schema version: the same change lacks "n" there.
  Result<PullResponse> pull =
      DecodePullResponse(R"({"changes":[)" + change + R"(],"cursor":"x","time_ms":1})");
  REQUIRE_FALSE(pull.ok());
  CHECK(pull.status().message() == "changes[0].n: missing");
  Result<PullResponse> pull_full = DecodePullResponse(
      R"({"changes":[{"i":"c1","c":"customers","r":"r1","h":5,"n":"n1","s":1,"zz":1}],)"
      R"("cursor":"x","time_ms":1})");
  REQUIRE_FALSE(pull_full.ok());
  CHECK(pull_full.status().message() == "changes[0].zz: unknown member");
  Result<Change> alone =
      DecodeChange(R"({"i":"c1","c":"customers","r":"r1","h":5,"n":"n1","s":1,"f":{},"zz":1})");
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.status().message() == "zz: unknown member");
  // Inside a field write, and at the top level of a request, too.
  CHECK(PushError(PushWith(
            R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"grade":{"v":"A","w":1}}})")) ==
        "changes[0].f.grade.w: unknown member");
  CHECK(PushError(R"({"node":"n1","schema":1,"changes":[],"extra":true})") ==
        "extra: unknown member");
}

TEST_CASE("wire: response envelopes ignore members a newer server adds") {
  Result<PushResponse> push = DecodePushResponse(
      R"({"results":[{"i":"c1","s":"applied","feed_seq":9}],"time_ms":1,"hint":"x"})");
  REQUIRE(push.ok());
  CHECK(push->results[0].status == PushStatus::kApplied);
  Result<PullResponse> pull =
      DecodePullResponse(R"({"changes":[],"cursor":"x","time_ms":1,"stats":{}})");
  CHECK(pull.ok());
  Result<ErrorBody> error =
      DecodeErrorBody(R"({"code":"rate_limited","message":"m","time_ms":1,"retry":3})");
  CHECK(error.ok());
  Result<LoginResponse> login = DecodeLoginResponse(
      R"({"token":"t","expires_in_s":60,"user":{"id":"u","role":"rep","teams":[],"name":"张伟"},)"
      R"("limits":{"max_batch_changes":1,"max_request_bytes":1,"max_response_bytes":1,"x":0},)"
      R"("time_ms":1,"motd":"你好"})");
  CHECK(login.ok());
}

TEST_CASE("wire: a wrong type is refused with the path of the member") {
  struct Case {
    const char* change;
    const char* message;
  };
  const Case cases[] = {
      {R"({"i":7,"c":"customers","r":"r1","h":5})", "changes[0].i: expected a string"},
      {R"({"i":"c1","c":"customers","r":"r1","h":"5"})",
       "changes[0].h: expected an unsigned integer"},
      {R"({"i":"c1","c":"customers","r":"r1","h":-5})",
       "changes[0].h: expected an unsigned integer"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5.0})",
       "changes[0].h: expected an unsigned integer"},
      {R"({"i":"c1","c":"customers","r":"r1","h":18446744073709551616})",
       "changes[0].h: expected an unsigned integer"},
      {R"({"i":"c1","c":"customers","r":"r1","h":0})",
       "changes[0].h: expected a hybrid logical clock value above 0"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"o":"patch"})",
       R"(changes[0].o: expected "upsert" or "delete")"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"s":"2"})",
       "changes[0].s: expected an unsigned integer"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"x":1})",
       "changes[0].x: expected true or false"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":[]})", "changes[0].f: expected an object"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"grade":"A"}})",
       "changes[0].f.grade: expected an object"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"grade":{}}})",
       R"(changes[0].f.grade: a field write needs "v", "add" or "rem")"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"notes":{"v":"x","b":[[1,"n"],["2","n"]]}}})",
       "changes[0].f.notes.b[1][0]: expected an unsigned integer"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"notes":{"v":"x","b":[[1]]}}})",
       "changes[0].f.notes.b[0]: expected [hlc, node]"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"tags":{"add":["a",3]}}})",
       "changes[0].f.tags.add[1]: expected a string"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"tags":{"rem":[["a",1,2]]}}})",
       "changes[0].f.tags.rem[0][2]: expected a string"},
      {R"({"i":"c1","c":"Customers","r":"r1","h":5})",
       "changes[0].c: expected a collection name ([a-z][a-z0-9_]*, at most 64)"},
      {R"({"i":"c1","c":"customers","r":"r 1","h":5})",
       "changes[0].r: expected 1 to 128 characters of A-Z a-z 0-9 - _ . :"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"Grade":{"v":1}}})",
       "changes[0].f.Grade: expected a field name ([a-z][a-z0-9_]*, at most 64)"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"o":"delete","f":{"grade":{"v":null}}})",
       "changes[0].f: a delete writes no fields"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"o":"delete","x":true})",
       "changes[0].x: a delete cannot recreate"},
      {R"({"i":"c1","c":"customers","r":"r1"})", "changes[0].h: missing"},
      {R"({"i":"c1","c":"customers","r":"r1","h":5,"a":"boss"})",
       "changes[0].a: set by the server, not allowed in a push"},
      {R"("c1")", "changes[0]: expected an object"},
  };
  for (const Case& c : cases) {
    INFO(c.change);
    CHECK(PushError(PushWith(c.change)) == c.message);
  }
  // The brief's example: a bad member deep inside the fourth change.
  std::string four = R"({"node":"n1","schema":1,"changes":[)";
  for (int k = 0; k < 3; ++k) {
    four += R"({"i":"c)" + std::to_string(k) +
            R"(","c":"customers","r":"r1","h":5,"f":{"grade":{"v":"A"}}},)";
  }
  four +=
      R"({"i":"c3","c":"customers","r":"r1","h":5,"f":{"grade":{"v":"B","b":[[true,"n1"]]}}}]})";
  CHECK(PushError(four) == "changes[3].f.grade.b[0][0]: expected an unsigned integer");
}

TEST_CASE("wire: envelopes are checked member by member") {
  CHECK(PushError("[]") == "message: expected an object");
  CHECK(PushError(R"({"schema":1,"changes":[]})") == "node: missing");
  CHECK(PushError(R"({"node":"n1","schema":0,"changes":[]})") == "schema: expected 1 or more");
  CHECK(PushError(R"({"node":"n1","schema":1,"changes":{}})") == "changes: expected an array");
  Result<PushResponse> status =
      DecodePushResponse(R"({"results":[{"i":"c1","s":"deferred"}],"time_ms":1})");
  REQUIRE_FALSE(status.ok());
  CHECK(status.status().message() ==
        R"(results[0].s: expected "applied", "duplicate" or "refused")");
  Result<PushResponse> refusal =
      DecodePushResponse(R"({"results":[{"i":"c1","s":"refused"}],"time_ms":1})");
  REQUIRE_FALSE(refusal.ok());
  CHECK(refusal.status().message() == "results[0].code: missing (a refusal names its code)");
  Result<LoginResponse> role = DecodeLoginResponse(
      R"({"token":"t","expires_in_s":60,"user":{"id":"u","role":"server","teams":[]},)"
      R"("limits":{"max_batch_changes":1,"max_request_bytes":1,"max_response_bytes":1},)"
      R"("time_ms":1})");
  REQUIRE_FALSE(role.ok());
  CHECK(role.status().message() == R"(user.role: expected "rep", "manager" or "admin")");
  Result<LimitsResponse> limits = DecodeLimitsResponse(
      R"({"limits":{"max_batch_changes":1,"max_request_bytes":10,"max_response_bytes":9},)"
      R"("time_ms":1})");
  REQUIRE_FALSE(limits.ok());
  CHECK(limits.status().message() == "limits.max_response_bytes: below max_request_bytes");
  Result<ErrorBody> error = DecodeErrorBody(R"({"code":"x","message":"m"})");
  REQUIRE_FALSE(error.ok());
  CHECK(error.status().message() == "time_ms: missing");
  Result<LoginRequest> login = DecodeLoginRequest(
      R"({"user":"u","password":"p","device":{"name":"n","platform":"p","id":"n1","imei":"1"}})");
  REQUIRE_FALSE(login.ok());
  CHECK(login.status().message() == "device.imei: unknown member");
}

TEST_CASE("wire: a repeated member is refused, so no two parsers can read different values") {
  CHECK(PushError(PushWith(R"({"i":"c1","i":"c2","c":"customers","r":"r1","h":5})")) ==
        "changes[0].i: repeated member");
  CHECK(PushError(PushWith(
            R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"grade":{"v":"A","v":"B"}}})")) ==
        "changes[0].f.grade.v: repeated member");
}

TEST_CASE("wire: oversized, deeply nested, overlong and non-JSON input is refused") {
  DecodeLimits small;
  small.max_bytes = 64;
  CHECK(PushError(PushWith(R"({"i":"c1","c":"customers","r":"r1","h":5})"), small) ==
        "message: 92 bytes, above the limit of 64");

  std::string deep = R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"custom":{"v":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}}}";
  CHECK(PushError(PushWith(deep)) ==
        "changes[0].f.custom.v[0][0][0][0][0][0][0][0][0][0][0][0][0]"
        "[0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper "
        "than 32 levels");

  DecodeLimits few;
  few.max_changes = 2;
  const std::string c = R"({"i":"c1","c":"customers","r":"r1","h":5})";
  CHECK(PushError(PushWith(c + "," + c + "," + c), few) ==
        "changes: 3 elements, above the limit of 2");

  const std::string truncated = PushWith(c).substr(0, 40);
  CHECK(PushError(truncated).rfind("message: not JSON at byte", 0) == 0);
  CHECK(PushError("").rfind("message: not JSON at byte 1", 0) == 0);
  CHECK(PushError("\xff\xfe{}").rfind("message: not JSON", 0) == 0);
  // Invalid UTF-8 inside a string is not JSON either.
  CHECK(PushError(PushWith(R"({"i":"c1","c":"customers","r":"r1","h":5,"f":{"name":{"v":")"
                           "\xc3\x28"
                           R"("}}})"))
            .rfind("message: not JSON", 0) == 0);
}

TEST_CASE("wire: the digest identifies a change's content, not its author") {
  const Change a = FullChange();
  Change same = a;
  same.author = "someone-else";
  CHECK(ChangeDigest(a) == ChangeDigest(same));
  CHECK(ChangeDigest(a).size() == 64);
  Change altered = a;
  altered.fields["name"].value = "上海明辉贸易有限公司 ";
  CHECK(ChangeDigest(a) != ChangeDigest(altered));
  Change later = a;
  later.version.hlc = Hlc(kHlc + 1);
  CHECK(ChangeDigest(a) != ChangeDigest(later));
  // A push decoded on the server digests the same as the tablet's original.
  Change pushed = a;
  pushed.author.clear();
  Result<PushRequest> back = DecodePushRequest(EncodePushRequest(PushRequest{kNode, 1, {pushed}}));
  REQUIRE(back.ok());
  CHECK(ChangeDigest(back->changes[0]) == ChangeDigest(a));
}

TEST_CASE("wire: gzip round-trips and refuses bombs, truncation and garbage") {
  std::string body;
  for (int k = 0; k < 2000; ++k) body += "上海市浦东新区张江路" + std::to_string(k) + "号;";
  Result<std::string> packed = Gzip(body);
  REQUIRE(packed.ok());
  CHECK(packed->size() < body.size() / 4);
  CHECK(static_cast<unsigned char>((*packed)[0]) == 0x1f);  // gzip magic
  CHECK(static_cast<unsigned char>((*packed)[1]) == 0x8b);
  Result<std::string> unpacked = Gunzip(*packed, body.size());
  REQUIRE(unpacked.ok());
  CHECK(*unpacked == body);

  SUBCASE("empty body") {
    Result<std::string> empty = Gzip("");
    REQUIRE(empty.ok());
    Result<std::string> back = Gunzip(*empty, 0);
    REQUIRE(back.ok());
    CHECK(back->empty());
  }
  SUBCASE("concatenated members") {
    Result<std::string> second = Gzip("尾部");
    REQUIRE(second.ok());
    Result<std::string> both = Gunzip(*packed + *second, body.size() + 6);
    REQUIRE(both.ok());
    CHECK(*both == body + "尾部");
  }
  SUBCASE("bomb: 64 MiB of zeros in about 64 KB stops at the cap") {
    Result<std::string> bomb = Gzip(std::string(size_t{64} << 20, '\0'));
    REQUIRE(bomb.ok());
    CHECK(bomb->size() < 100 * 1024);
    Result<std::string> r = Gunzip(*bomb, size_t{4} << 20);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message() == "gzip body expands beyond 4194304 bytes");
  }
  SUBCASE("one byte over the cap") {
    Result<std::string> r = Gunzip(*packed, body.size() - 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() ==
          "gzip body expands beyond " + std::to_string(body.size() - 1) + " bytes");
  }
  SUBCASE("truncated") {
    Result<std::string> r = Gunzip(packed->substr(0, packed->size() - 5), body.size());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "gzip body truncated");
  }
  SUBCASE("corrupt: flipped byte in the data, or a bad checksum") {
    std::string bad = *packed;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x55);
    Result<std::string> r = Gunzip(bad, body.size() * 2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    std::string crc = *packed;
    crc[crc.size() - 6] = static_cast<char>(crc[crc.size() - 6] ^ 1);  // CRC32 trailer
    Result<std::string> c = Gunzip(crc, body.size());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().rfind("gzip body corrupt", 0) == 0);
  }
  SUBCASE("not gzip, or gzip followed by garbage") {
    Result<std::string> r = Gunzip(R"({"node":"n1"})", 1000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind("gzip body corrupt", 0) == 0);
    Result<std::string> t = Gunzip(*packed + "junk", body.size() + 100);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == StatusCode::kInvalidArgument);
    Result<std::string> e = Gunzip("", 1000);
    REQUIRE_FALSE(e.ok());
    CHECK(e.status().message() == "gzip body truncated");
  }
}

TEST_CASE("wire: a cursor round-trips and any altered character is refused") {
  const Cursor cursor{0x0102030405060708, 7, 0xfffffffe};
  Result<std::string> text = EncodeCursor(cursor, kKey);
  REQUIRE(text.ok());
  CHECK(text->size() == 44);
  CHECK(
      text->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
  Result<Cursor> back = DecodeCursor(*text, kKey);
  REQUIRE(back.ok());
  CHECK(*back == cursor);

  Result<std::string> zero = EncodeCursor(Cursor{}, kKey);
  REQUIRE(zero.ok());
  Result<Cursor> zero_back = DecodeCursor(*zero, kKey);
  REQUIRE(zero_back.ok());
  CHECK(*zero_back == Cursor{});

  // Every position, every way: the watermark, the epochs, the version byte and the tag itself.
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int refused = 0;
  for (size_t pos = 0; pos < text->size(); ++pos) {
    for (int d : {1, 17, 63}) {
      std::string tampered = *text;
      const size_t idx = std::string(kAlphabet).find(tampered[pos]);
      tampered[pos] = kAlphabet[(idx + static_cast<size_t>(d)) % 64];
      Result<Cursor> r = DecodeCursor(tampered, kKey);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == StatusCode::kInvalidArgument);
      ++refused;
    }
  }
  CHECK(refused == 44 * 3);

  Result<Cursor> other_key = DecodeCursor(*text, std::string(32, 'K'));
  REQUIRE_FALSE(other_key.ok());
  CHECK(other_key.status().message() ==
        "cursor: authentication failed (altered, or not minted here)");
  CHECK(DecodeCursor(text->substr(1), kKey).status().message() ==
        "cursor: 43 characters, 44 expected");
  CHECK(DecodeCursor("", kKey).status().code() == StatusCode::kInvalidArgument);
  CHECK(DecodeCursor(std::string(44, '='), kKey).status().message() == "cursor: not base64url");
  CHECK(EncodeCursor(cursor, "short key").status().code() == StatusCode::kInvalidArgument);
}

// ---- byte budgets -------------------------------------------------------------------------------

std::string Uuid(std::mt19937_64& rng) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int k = 0; k < 32; ++k) {
    if (k == 8 || k == 12 || k == 16 || k == 20) out.push_back('-');
    out.push_back(kHex[rng() & 15]);
  }
  out[14] = '4';  // version 4
  return out;
}

TEST_CASE("wire: a gzipped push of 1,000 one-field edits takes at most 120 bytes per edit") {
  std::mt19937_64 rng(20241123);
  // A working day of one rep: 1,000 edits, each to one field of a random customer, a few seconds
  // apart; ids are random v4 UUIDs (incompressible), values a realistic mix.
  const char* grades[] = {"A", "B", "C", "D", "E"};
  const char* stages[] = {"lead", "prospect", "active", "silent", "lost"};
  const char* streets[] = {"上海市浦东新区张江路", "杭州市西湖区文三路", "南京市鼓楼区中山北路",
                           "苏州市工业园区星湖街"};
  PushRequest push{kNode, 1, {}};
  uint64_t ms = 1732343971123;
  for (int k = 0; k < 1000; ++k) {
    ms += 1000 + rng() % 30000;
    Change c;
    c.change_id = Uuid(rng);
    c.collection = "customers";
    c.record_id = Uuid(rng);
    c.version = Version{Hlc::FromParts(ms, rng() % 3), kNode};
    switch (k % 5) {
      case 0:
        c.fields["grade"].value = grades[rng() % 5];
        break;
      case 1:
        c.fields["lifecycle_stage"].value = stages[rng() % 5];
        break;
      case 2:
        c.fields["address"].value =
            std::string(streets[rng() % 4]) + std::to_string(1 + rng() % 999) + "号";
        break;
      case 3:
        c.fields["phones"].value =
            json::array({"+86138" + std::to_string(10000000 + rng() % 89999999)});
        break;
      case 4:
        c.fields["decision_cycle"].value = std::to_string(1 + rng() % 6) + "个月";
        break;
    }
    push.changes.push_back(std::move(c));
  }
  const std::string body = EncodePushRequest(push);
  Result<std::string> packed = Gzip(body);
  REQUIRE(packed.ok());
  const double raw_per_edit = static_cast<double>(body.size()) / 1000.0;
  const double gzip_per_edit = static_cast<double>(packed->size()) / 1000.0;
  std::printf(
      "push of 1,000 one-field edits: %zu bytes JSON (%.1f/edit), %zu gzipped "
      "(%.1f/edit)\n",
      body.size(), raw_per_edit, packed->size(), gzip_per_edit);
  CHECK(gzip_per_edit <= 120.0);
  // The answer: one result per change, mostly the change id again.
  PushResponse response;
  for (const Change& c : push.changes) {
    response.results.push_back({c.change_id, PushStatus::kApplied, "", ""});
  }
  response.server_time_ms = static_cast<int64_t>(ms);
  const std::string answer = EncodePushResponse(response);
  Result<std::string> packed_answer = Gzip(answer);
  REQUIRE(packed_answer.ok());
  std::printf("its response: %zu bytes JSON, %zu gzipped (%.1f/edit)\n", answer.size(),
              packed_answer->size(), static_cast<double>(packed_answer->size()) / 1000.0);
  // The server's decoder reads it back intact.
  Result<std::string> unpacked = Gunzip(*packed, body.size());
  REQUIRE(unpacked.ok());
  Result<PushRequest> back = DecodePushRequest(*unpacked);
  REQUIRE(back.ok());
  CHECK(back->changes.size() == 1000);
}

// The headers docs/protocol.md §2 prescribes: the client sends these and no others (libcurl's
// default "Accept: */*" is switched off); the server (cpp-httplib) adds Keep-Alive to its own.
std::string Request(const std::string& line, const std::string& body) {
  std::string r = line + "\r\n";
  r += "Host: sync.minghui.com.cn\r\n";
  // A 256-bit random token, base64url: the length the server will issue.
  r += "Authorization: Bearer 3q2-7wEVR1sXa9Yb0cPZkLmN4oT6uJ8hGfDe5iK1aZx\r\n";
  r += "Accept-Encoding: gzip\r\n";
  if (!body.empty()) {
    r += "Content-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

std::string Response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) +
         "\r\n"
         "Keep-Alive: timeout=5, max=5\r\n"
         "\r\n" +
         body;
}

TEST_CASE("wire: a sync of one one-field edit fits in 1 KB, headers included") {
  const Change edit = OneFieldEdit();
  const std::string push_body = EncodePushRequest(PushRequest{kNode, 1, {edit}});
  PushResponse result;
  result.results = {{edit.change_id, PushStatus::kApplied, "", ""}};
  result.server_time_ms = 1732343971123;
  const std::string push_response = EncodePushResponse(result);
  const std::string push_bytes =
      Request("POST /v1/push HTTP/1.1", push_body) + Response(push_response);

  Result<std::string> cursor = EncodeCursor(Cursor{123456, 1, 1}, kKey);
  REQUIRE(cursor.ok());
  PullResponse empty;
  empty.next_cursor = *cursor;
  empty.server_time_ms = 1732343971190;
  const std::string pull_bytes =
      Request("GET /v1/pull?cursor=" + *cursor + "&schema=1&pending=0 HTTP/1.1", "") +
      Response(EncodePullResponse(empty));

  std::printf(
      "one one-field edit: push %zu bytes (request body %zu, response body %zu); "
      "with the empty pull that follows, %zu bytes\n",
      push_bytes.size(), push_body.size(), push_response.size(),
      push_bytes.size() + pull_bytes.size());
  CHECK(push_bytes.size() <= 1024);
  CHECK(push_bytes.size() + pull_bytes.size() <= 1024);
}

}  // namespace
}  // namespace fieldsync::sync
