// bench/sync_bench.cc: `fieldsync-bench sync`: sync over loopback against a real fieldsync server
// (the server library started in-process on 127.0.0.1, SQLite backend, libcurl client), the
// targets of issue #5.
//
//   fieldsync-bench sync [--json FILE] [--quick] [--repeat N] [--push N] [--customers N]
//                        [--small N] [--large N] [--only LIST] [--dir DIR]
//
// Workloads (each repeated; everything is generated before timing from a fixed seed):
//   push          N changes (default 100,000: one in four a new customer, one in four a visit
//                 report, the rest 1-3-field edits) POSTed to /v1/push in batches of 1,000, as
//                 the replicator sends them (encoded and gzipped beforehand; the encoding time is
//                 reported apart), on a fresh server per repetition. Baseline: the rows that push
//                 stored (feed entry, applied-change digest, record row per change) inserted
//                 straight into a fresh server file, one transaction per 1,000, prepared
//                 statements reused, same pragmas. Targets: >= 50,000 changes/s, <= 5x the direct
//                 write.
//   first_sync    a fresh encrypted tablet (core Database, raw key) and a real Replicator pulling
//                 C customers and 3C visits (default 100,000 + 300,000) of its rep, login
//                 included. Baseline: the same pull pages fetched and decoded over HTTP without
//                 applying them (server + wire share). Target: <= 10 s.
//   incremental   a synced tablet's round that moves 10 changes, on a server holding --small
//                 (10,000) and --large (1,000,000) records: pull10 (a manager edited 10 of the
//                 rep's customers) and push10 (the rep edited 10). The bulk of the records belongs
//                 to other reps and is written straight into the server's SQLite; the rep's 1,000
//                 customers go through the service. The large lines take the small ones as their
//                 baseline (ratio ~1: the cost follows the changes, not the database).
//                 Target: <= 20 ms.
//   bytes         HTTP bytes of whole rounds (SyncProgress: request and status lines, headers,
//                 bodies as sent), both directions: a round pushing one one-field edit (<= 1 KB)
//                 and a round pushing 1,000 one-field edits (<= 120 bytes per edit).
//
// Output: a table (min, median, spread over repetitions, the baseline's median, ratio = ours /
// baseline on medians (throughput: our time / baseline time), target, met) and with --json the
// entry list of bench_stats.h plus target, meets_target and extras. Exit status 1 when a
// workload failed; a missed target is reported, not an error. The machine is shared: read the
// spread, and cpu figures where given.
#include "sync_bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin.h"
#include "bench_files.h"
#include "bench_stats.h"
#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/sync/replicator.h"
#include "fieldsync/sync/wire_format.h"
#include "http_server.h"
#include "sqlite_backend.h"
#include "sync_service.h"
#include "sync_workload.h"

namespace fieldsync::bench {
namespace {

using nlohmann::json;

constexpr uint8_t kTabletKey[kKeySize] = {
    0x51, 0x0c, 0xa7, 0x3e, 0x92, 0x18, 0xdb, 0x64, 0x2f, 0xb0, 0x45, 0xe9, 0x7a, 0x13, 0xc6, 0x88,
    0x0d, 0x9f, 0x36, 0x71, 0xe2, 0x5b, 0xa4, 0x1c, 0x67, 0xf8, 0x2a, 0x93, 0x4e, 0xb5, 0x0f, 0xd1};
constexpr char kTenant[] = "minghui";
constexpr char kRep[] = "zhang";     // the tablet's user: rep of team east1
constexpr char kManager[] = "chen";  // manager of east1: edits zhang's customers
constexpr char kPassword[] = "fieldsync-bench sync: not a real password";
constexpr char kPushNode[] = "b3c4d5e6f7a80912";     // the push workload's device
constexpr char kSeedNode[] = "a1b2c3d4e5f60718";     // zhang's other device, which seeds
constexpr char kPullNode[] = "c0c1c2c3c4c5c6c7";     // the pull-only baseline's device
constexpr char kManagerNode[] = "d0d1d2d3d4d5d6d7";  // chen's device
constexpr char kBulkNode[] = "e0e1e2e3e4e5e6e7";     // the other reps' records
constexpr size_t kBatch = 1000;
constexpr size_t kRepCustomers = 1000;  // zhang's customers on the incremental servers
constexpr size_t kIncrementalChanges = 10;
constexpr size_t kBulkOwners = 100;

constexpr double kTargetPushPerS = 50000;
constexpr double kTargetPushRatio = 5;
constexpr double kTargetFirstSyncMs = 10000;
constexpr double kTargetIncrementalMs = 20;
constexpr double kTargetOneEditBytes = 1024;
constexpr double kTargetBytesPerEdit = 120;

struct Options {
  int repeats = 3;
  int incremental_repeats = 10;
  size_t push = 100000;
  size_t customers = 100000;  // first sync; visits = 3x
  size_t small = 10000;
  size_t large = 1000000;
  std::set<std::string> only;  // empty: all
  std::string dir;
  std::string json_path;
  bool Runs(const std::string& name) const { return only.empty() || only.count(name) > 0; }
};

struct Line {
  Line(std::string name_, std::string unit_, std::string baseline_, std::vector<double> ours_ = {},
       std::vector<double> base_ = {})
      : name(std::move(name_)),
        unit(std::move(unit_)),
        baseline(std::move(baseline_)),
        ours(std::move(ours_)),
        base(std::move(base_)) {}

  std::string name, unit, baseline;
  std::vector<double> ours, base;
  bool higher_is_better = false;
  std::string target;
  std::optional<bool> meets;
  json extras = json::object();
};

class Stopwatch {
 public:
  Stopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(std::clock()) {}
  double Ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_)
        .count();
  }
  double CpuMs() const {
    return 1000.0 * static_cast<double>(std::clock() - cpu_) / CLOCKS_PER_SEC;
  }

 private:
  std::chrono::steady_clock::time_point wall_;
  std::clock_t cpu_;
};

double Median(const std::vector<double>& v) { return Summarize(v).median; }

void Progress(const std::string& line) {
  std::fprintf(stderr, "  %s\n", line.c_str());
  std::fflush(stderr);
}

std::string Format(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// ---- the server ---------------------------------------------------------------------------

// One fieldsync server on 127.0.0.1 (a free port) over its own SQLite file: tenant minghui,
// teams east1 and east2, rep zhang and manager chen of east1 (real scrypt cost).
struct Server {
  std::string path;
  std::unique_ptr<server::Backend> backend;
  std::unique_ptr<server::SyncService> service;
  std::unique_ptr<server::HttpServer> http;
  std::string url;

  ~Server() { Stop(); }
  void Stop() {
    if (http) http->Stop();
    http.reset();
    service.reset();
    backend.reset();
  }
};

std::string CreateServerFile(const std::string& path, std::unique_ptr<server::Backend>* out) {
  RemoveDatabaseFiles(path);
  Result<std::unique_ptr<server::Backend>> b = server::OpenBackend("sqlite:" + path);
  if (!b.ok()) return "OpenBackend: " + b.status().ToString();
  Status s = server::AdminCreateTenant(b->get(), kTenant, "明辉科技");
  if (s.ok()) s = server::AdminAddTeam(b->get(), kTenant, "east1", "华东一组");
  if (s.ok()) s = server::AdminAddTeam(b->get(), kTenant, "east2", "华东二组");
  if (!s.ok()) return "admin: " + s.ToString();
  *out = std::move(*b);
  return "";
}

std::string StartServer(const std::string& path, bool create, Server* srv) {
  srv->path = path;
  if (create) {
    std::string error = CreateServerFile(path, &srv->backend);
    if (!error.empty()) return error;
    Status s = server::AdminAddUser(srv->backend.get(), kTenant, kRep, "rep", {"east1"}, kPassword);
    if (s.ok()) {
      s = server::AdminAddUser(srv->backend.get(), kTenant, kManager, "manager", {"east1"},
                               kPassword);
    }
    if (!s.ok()) return "add users: " + s.ToString();
  } else {
    Result<std::unique_ptr<server::Backend>> b = server::OpenBackend("sqlite:" + path);
    if (!b.ok()) return "OpenBackend: " + b.status().ToString();
    srv->backend = std::move(*b);
  }
  srv->service = std::make_unique<server::SyncService>(srv->backend.get(), Schema::FieldSales());
  srv->http = std::make_unique<server::HttpServer>(srv->service.get());
  Result<int> port = srv->http->Start("127.0.0.1", 0);
  if (!port.ok()) return "HttpServer::Start: " + port.status().ToString();
  srv->url = "http://127.0.0.1:" + std::to_string(*port);
  return "";
}

// Logs in through the service (no HTTP) and returns the principal, for untimed seeding.
std::string ServicePrincipal(const Server& srv, const std::string& user, const std::string& node,
                             server::Principal* out) {
  sync::LoginRequest login{user, kPassword, sync::DeviceInfo{"bench", "linux", node}};
  server::ApiResult<sync::LoginResponse> r = srv.service->Login(login);
  if (!r.ok()) return "Login: " + r.error().message;
  server::ApiResult<server::Principal> p = srv.service->Authenticate(r.value().token);
  if (!p.ok()) return "Authenticate: " + p.error().message;
  *out = p.value();
  return "";
}

// Pushes through the service in batches; every change must be applied.
std::string ServicePush(const Server& srv, const server::Principal& who,
                        const std::vector<sync::Change>& changes) {
  for (size_t first = 0; first < changes.size(); first += kBatch) {
    sync::PushRequest req;
    req.node = who.device;
    req.schema_version = 1;
    req.changes.assign(
        changes.begin() + static_cast<std::ptrdiff_t>(first),
        changes.begin() + static_cast<std::ptrdiff_t>(std::min(changes.size(), first + kBatch)));
    server::ApiResult<sync::PushResponse> r = srv.service->ApplyPush(who, req);
    if (!r.ok()) return "ApplyPush: " + r.error().message;
    for (const sync::PushResult& res : r.value().results) {
      if (res.status != sync::PushStatus::kApplied) {
        return "ApplyPush: change " + res.change_id + " " + res.code + ": " + res.reason;
      }
    }
  }
  return "";
}

// Logs in over HTTP; the bearer token.
std::string HttpLogin(HttpClient& http, const std::string& url, const std::string& user,
                      const std::string& node, std::string* token) {
  HttpRequest req;
  req.method = "POST";
  req.url = url + "/v1/login";
  req.headers.Add("Content-Type", sync::kJsonContentType);
  req.body = sync::EncodeLoginRequest({user, kPassword, sync::DeviceInfo{"bench", "linux", node}});
  Result<HttpResponse> r = http.Send(req);
  if (!r.ok()) return "login: " + r.status().ToString();
  if (r->status != 200) return "login: HTTP " + std::to_string(r->status) + " " + r->body;
  Result<sync::LoginResponse> login = sync::DecodeLoginResponse(r->body);
  if (!login.ok()) return "login: " + login.status().ToString();
  *token = login->token;
  return "";
}

// ---- the tablet ----------------------------------------------------------------------------

struct Tablet {
  std::string path;
  std::unique_ptr<Database> db;
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<sync::Replicator> repl;

  ~Tablet() { Close(); }
  void Close() {
    repl.reset();
    http.reset();
    db.reset();
  }
};

std::string OpenTablet(const std::string& path, const std::string& url, const std::string& user,
                       Tablet* t) {
  RemoveDatabaseFiles(path);
  RawKeyProvider key(kTabletKey, sizeof kTabletKey);
  Result<std::unique_ptr<Database>> db = Database::Create(path, key);
  if (!db.ok()) return "Database::Create: " + db.status().ToString();
  t->path = path;
  t->db = std::move(*db);
  t->http = NewCurlHttpClient({});
  sync::ReplicatorOptions o;
  o.server_url = url;
  o.user = user;
  o.password = kPassword;
  o.device_name = user + "的平板";
  o.device_platform = "linux bench";
  t->repl = std::make_unique<sync::Replicator>(t->db.get(), t->http.get(), o);
  return "";
}

Result<int64_t> CountRecords(Database& db) {
  int64_t n = -1;
  Status s = db.writer_store().Execute("SELECT count(*) FROM fs_records", {}, [&](const Row& row) {
    if (auto* v = std::get_if<int64_t>(&row.values[0])) n = *v;
    return false;
  });
  if (!s.ok()) return s;
  return n;
}

// ---- push ----------------------------------------------------------------------------------

// n changes from zhang's device: a new customer, a visit, two edits, repeated.
std::vector<sync::Change> PushChanges(size_t n, SyncGenerator& gen) {
  std::vector<sync::Change> out;
  std::vector<std::string> customers;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    if (k % 4 == 0 || customers.empty()) {
      out.push_back(gen.NewCustomer(kRep, kPushNode));
      customers.push_back(out.back().record_id);
    } else {
      const std::string& c = customers[gen.Below(static_cast<uint32_t>(customers.size()))];
      out.push_back(k % 4 == 1 ? gen.Visit(c, kRep, kPushNode) : gen.Edit(c, kPushNode));
    }
  }
  return out;
}

std::string RunPush(const Options& o, const std::string& dir, std::vector<Line>* lines) {
  SyncGenerator gen(kSyncSeed, NowMs() - 3 * 3600 * 1000);
  const std::vector<sync::Change> changes = PushChanges(o.push, gen);
  // The request bodies as the replicator sends them: encoded, gzipped.
  std::vector<std::string> bodies;
  size_t raw_bytes = 0, gz_bytes = 0;
  Stopwatch encode;
  for (size_t first = 0; first < changes.size(); first += kBatch) {
    sync::PushRequest req;
    req.node = kPushNode;
    req.schema_version = 1;
    req.changes.assign(
        changes.begin() + static_cast<std::ptrdiff_t>(first),
        changes.begin() + static_cast<std::ptrdiff_t>(std::min(changes.size(), first + kBatch)));
    std::string body = sync::EncodePushRequest(req);
    raw_bytes += body.size();
    Result<std::string> gz = sync::Gzip(body);
    if (!gz.ok()) return "push: Gzip: " + gz.status().ToString();
    gz_bytes += gz->size();
    bodies.push_back(std::move(*gz));
  }
  const double encode_ms = encode.Ms();

  Line line{"sync.push", "changes/s",
            "direct write: the same rows (feed, digest, record) into the server's SQLite tables, "
            "one transaction per 1,000, prepared statements reused"};
  line.higher_is_better = true;
  std::vector<double> ours_ms, base_ms, ours_cpu, base_cpu;
  std::vector<PushedRow> rows;
  uint64_t sent = 0, received = 0;
  for (int rep = 0; rep < o.repeats; ++rep) {
    for (int side = 0; side < 2; ++side) {
      // Alternating order; repetition 0 runs ours first, since the baseline writes its rows.
      const bool ours_now = (side == 0) == (rep % 2 == 0);
      if (ours_now) {
        Server srv;
        std::string error = StartServer(dir + "/push.db", true, &srv);
        std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
        std::string token;
        if (error.empty()) error = HttpLogin(*http, srv.url, kRep, kPushNode, &token);
        if (!error.empty()) return "push: " + error;
        std::vector<HttpResponse> responses;
        responses.reserve(bodies.size());
        Stopwatch t;
        for (const std::string& body : bodies) {
          HttpRequest req;
          req.method = "POST";
          req.url = srv.url + "/v1/push";
          req.headers.Add("Authorization", "Bearer " + token);
          req.headers.Add("Content-Type", sync::kJsonContentType);
          req.headers.Add("Content-Encoding", "gzip");
          req.body = body;
          Result<HttpResponse> r = http->Send(req);
          if (!r.ok()) return "push: " + r.status().ToString();
          responses.push_back(std::move(*r));
        }
        ours_ms.push_back(t.Ms());
        ours_cpu.push_back(t.CpuMs());  // client and server: they share the process
        sent = received = 0;
        size_t applied = 0;
        for (const HttpResponse& r : responses) {
          if (r.status != 200) return "push: HTTP " + std::to_string(r.status) + " " + r.body;
          sent += r.bytes_sent, received += r.bytes_received;
          Result<sync::PushResponse> pr = sync::DecodePushResponse(r.body);
          if (!pr.ok()) return "push: " + pr.status().ToString();
          for (const sync::PushResult& res : pr->results) {
            if (res.status == sync::PushStatus::kApplied) ++applied;
          }
        }
        if (applied != changes.size()) {
          return "push: " + std::to_string(applied) + " of " + std::to_string(changes.size()) +
                 " changes applied";
        }
        srv.Stop();
        if (rows.empty()) {
          error = ReadPushedRows(dir + "/push.db", kTenant, &rows);
          if (!error.empty()) return "push: reading back: " + error;
          if (rows.size() != changes.size()) return "push: feed rows differ from changes";
        }
        RemoveDatabaseFiles(dir + "/push.db");
      } else {
        std::unique_ptr<server::Backend> b;
        std::string error = CreateServerFile(dir + "/direct.db", &b);
        b.reset();
        if (!error.empty()) return "push baseline: " + error;
        Stopwatch t;
        error = DirectWrite(dir + "/direct.db", kTenant, rows, kBatch);
        base_ms.push_back(t.Ms());
        base_cpu.push_back(t.CpuMs());
        if (!error.empty()) return "push baseline: " + error;
        RemoveDatabaseFiles(dir + "/direct.db");
      }
    }
    const double n = static_cast<double>(changes.size());
    line.ours.push_back(n / (ours_ms.back() / 1000));
    line.base.push_back(n / (base_ms.back() / 1000));
    Progress(Format("push rep %.0f: %.0f ms (%.0f changes/s), direct write %.0f ms", rep + 1,
                    ours_ms.back(), line.ours.back(), base_ms.back()));
  }
  const std::optional<double> cost = MedianRatio(ours_ms, base_ms);
  line.target = ">=50k/s, r<=5";
  line.meets = Median(line.ours) >= kTargetPushPerS && cost && *cost <= kTargetPushRatio;
  line.extras["target"] = {{"min_changes_per_s", kTargetPushPerS}, {"max_ratio", kTargetPushRatio}};
  line.extras["changes"] = changes.size();
  line.extras["batch"] = kBatch;
  line.extras["ms_samples"] = ours_ms;
  line.extras["baseline_ms_samples"] = base_ms;
  line.extras["us_per_change"] = Median(ours_ms) * 1000 / static_cast<double>(changes.size());
  line.extras["baseline_us_per_change"] =
      Median(base_ms) * 1000 / static_cast<double>(changes.size());
  line.extras["client_encode_gzip_ms"] = encode_ms;
  line.extras["request_json_bytes"] = raw_bytes;
  line.extras["request_gzip_bytes"] = gz_bytes;
  line.extras["http_bytes_sent"] = sent;
  line.extras["http_bytes_received"] = received;
  AddCpuTimes(line.extras, ours_cpu, base_cpu);
  line.extras["what"] =
      "POST /v1/push of pre-encoded gzipped batches over loopback; the server decodes, "
      "authorizes, merges, stores and appends the feed; cpu = the whole process (client, server)";
  lines->push_back(std::move(line));
  return "";
}

// ---- first sync ----------------------------------------------------------------------------

// Pulls every page over HTTP and decodes it, applying nothing: the server and wire share.
std::string PullOnly(const std::string& url, size_t expected, double* ms) {
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  std::string token;
  std::string error = HttpLogin(*http, url, kRep, kPullNode, &token);
  if (!error.empty()) return error;
  Stopwatch t;
  std::string cursor;
  size_t got = 0;
  for (;;) {
    HttpRequest req;
    req.url = url + "/v1/pull?schema=1&limit=" + std::to_string(kBatch) +
              (cursor.empty() ? "" : "&cursor=" + cursor);
    req.headers.Add("Authorization", "Bearer " + token);
    Result<HttpResponse> r = http->Send(req);
    if (!r.ok()) return "pull: " + r.status().ToString();
    if (r->status != 200) return "pull: HTTP " + std::to_string(r->status);
    Result<sync::PullResponse> page = sync::DecodePullResponse(r->body);
    if (!page.ok()) return "pull: " + page.status().ToString();
    got += page->changes.size();
    cursor = page->next_cursor;
    if (!page->has_more) break;
  }
  *ms = t.Ms();
  if (got != expected) {
    return "pull: " + std::to_string(got) + " changes, expected " + std::to_string(expected);
  }
  return "";
}

std::string RunFirstSync(const Options& o, const std::string& dir, std::vector<Line>* lines) {
  SyncGenerator gen(kSyncSeed + 1, NowMs() - 3 * 3600 * 1000);
  std::vector<sync::Change> changes;
  std::vector<std::string> customers;
  for (size_t i = 0; i < o.customers; ++i) {
    changes.push_back(gen.NewCustomer(kRep, kSeedNode));
    customers.push_back(changes.back().record_id);
  }
  for (size_t i = 0; i < 3 * o.customers; ++i) {
    changes.push_back(
        gen.Visit(customers[gen.Below(static_cast<uint32_t>(customers.size()))], kRep, kSeedNode));
  }
  Server srv;
  std::string error = StartServer(dir + "/first.db", true, &srv);
  server::Principal zhang;
  if (error.empty()) error = ServicePrincipal(srv, kRep, kSeedNode, &zhang);
  Stopwatch seed;
  if (error.empty()) error = ServicePush(srv, zhang, changes);
  if (!error.empty()) return "first_sync seed: " + error;
  const double seed_ms = seed.Ms();
  Progress(
      Format("first_sync: seeded %.0f changes through SyncService::ApplyPush in %.1f s "
             "(%.0f changes/s, in-process)",
             static_cast<double>(changes.size()), seed_ms / 1000,
             static_cast<double>(changes.size()) / (seed_ms / 1000)));

  Line line{"sync.first_sync", "ms",
            "pull only: the same pages fetched over HTTP and decoded, not applied"};
  std::vector<double> ours_cpu, base_cpu;
  int64_t sent = 0, received = 0;
  for (int rep = 0; rep < o.repeats; ++rep) {
    for (int side = 0; side < 2; ++side) {
      const bool ours_now = (side == 0) == (rep % 2 == 0);
      if (ours_now) {
        Tablet tablet;
        error = OpenTablet(dir + "/tablet-first.db", srv.url, kRep, &tablet);
        if (!error.empty()) return "first_sync: " + error;
        sync::SyncProgress progress;
        Stopwatch t;
        Status s = tablet.repl->SyncOnce(&progress);
        line.ours.push_back(t.Ms());
        ours_cpu.push_back(t.CpuMs());
        if (!s.ok()) return "first_sync: SyncOnce: " + s.ToString();
        if (progress.changes_pulled != static_cast<int64_t>(changes.size())) {
          return "first_sync: pulled " + std::to_string(progress.changes_pulled);
        }
        Result<int64_t> n = CountRecords(*tablet.db);
        if (!n.ok() || *n != static_cast<int64_t>(changes.size())) {
          return "first_sync: the tablet holds " + std::to_string(n.ok() ? *n : -1) + " records";
        }
        sent = progress.bytes_sent, received = progress.bytes_received;
        tablet.Close();
        RemoveDatabaseFiles(dir + "/tablet-first.db");
      } else {
        double ms = 0;
        Stopwatch t;
        error = PullOnly(srv.url, changes.size(), &ms);
        base_cpu.push_back(t.CpuMs());
        if (!error.empty()) return "first_sync baseline: " + error;
        line.base.push_back(ms);
      }
    }
    Progress(Format("first_sync rep %.0f: %.0f ms; pull only %.0f ms", rep + 1, line.ours.back(),
                    line.base.back()));
  }
  line.target = "<=10 s";
  line.meets = Median(line.ours) <= kTargetFirstSyncMs;
  line.extras["target_ms"] = kTargetFirstSyncMs;
  line.extras["customers"] = o.customers;
  line.extras["visits"] = 3 * o.customers;
  line.extras["changes"] = changes.size();
  line.extras["http_bytes_sent"] = sent;
  line.extras["http_bytes_received"] = received;
  line.extras["seed_in_process_ms"] = seed_ms;
  line.extras["seed_in_process_changes_per_s"] =
      static_cast<double>(changes.size()) / (seed_ms / 1000);
  line.extras["tablet_share_ms"] = Median(line.ours) - Median(line.base);
  AddCpuTimes(line.extras, ours_cpu, base_cpu);
  line.extras["what"] =
      "Replicator::SyncOnce on a new encrypted Database (raw key): login (scrypt), pull pages of "
      "1,000, merge, materialize and store each record, cursor per page";
  lines->push_back(std::move(line));
  return "";
}

// ---- incremental and bytes -------------------------------------------------------------------

struct IncrementalWorld {
  Server srv;
  Tablet tablet;
  server::Principal manager;
  std::vector<std::string> rep_customers;
  double initial_sync_ms = 0;
  double seed_ms = 0;
  size_t records = 0;
};

std::string BuildIncremental(const std::string& dir, size_t records, IncrementalWorld* w) {
  const std::string path = dir + "/inc-" + std::to_string(records) + ".db";
  {
    std::unique_ptr<server::Backend> b;
    std::string error = CreateServerFile(path, &b);
    if (error.empty()) {
      Status s = server::AdminAddUser(b.get(), kTenant, kRep, "rep", {"east1"}, kPassword);
      if (s.ok()) {
        s = server::AdminAddUser(b.get(), kTenant, kManager, "manager", {"east1"}, kPassword);
      }
      if (!s.ok()) error = s.ToString();
    }
    if (!error.empty()) return error;
  }
  // The bulk: other reps' customers and visits (one customer in four records), straight in.
  SyncGenerator gen(kSyncSeed + 2 + records, NowMs() - 6 * 3600 * 1000);
  const size_t bulk = records > kRepCustomers ? records - kRepCustomers : 0;
  Stopwatch seed;
  std::vector<SeedChange> seeds;
  std::vector<std::pair<std::string, std::string>> bulk_customers;  // id, owner
  const size_t chunk = 100000;
  for (size_t k = 0; k < bulk; ++k) {
    SeedChange s;
    const std::string owner = "rep-" + std::to_string(k % kBulkOwners);
    if (k % 4 == 0 || bulk_customers.empty()) {
      s.change = gen.NewCustomer(owner, kBulkNode);
      bulk_customers.emplace_back(s.change.record_id, owner);
      s.owner = owner;
      s.customer = s.change.record_id;
    } else {
      const auto& c = bulk_customers[gen.Below(static_cast<uint32_t>(bulk_customers.size()))];
      s.change = gen.Visit(c.first, c.second, kBulkNode);
      s.owner = c.second;
      s.customer = c.first;
    }
    s.author = s.owner;
    s.scope_keys = {"u:" + s.owner};
    seeds.push_back(std::move(s));
    if (seeds.size() == chunk || k + 1 == bulk) {
      std::string error = SeedDirect(path, kTenant, seeds, kBatch);
      if (!error.empty()) return error;
      seeds.clear();
    }
  }
  std::string error = StartServer(path, false, &w->srv);
  server::Principal zhang;
  if (error.empty()) error = ServicePrincipal(w->srv, kRep, kSeedNode, &zhang);
  if (error.empty()) error = ServicePrincipal(w->srv, kManager, kManagerNode, &w->manager);
  std::vector<sync::Change> mine;
  for (size_t i = 0; i < kRepCustomers; ++i) {
    mine.push_back(gen.NewCustomer(kRep, kSeedNode));
    w->rep_customers.push_back(mine.back().record_id);
  }
  if (error.empty()) error = ServicePush(w->srv, zhang, mine);
  if (!error.empty()) return error;
  w->seed_ms = seed.Ms();
  w->records = bulk + kRepCustomers;

  error = OpenTablet(dir + "/tablet-inc-" + std::to_string(records) + ".db", w->srv.url, kRep,
                     &w->tablet);
  if (!error.empty()) return error;
  sync::SyncProgress progress;
  Stopwatch t;
  Status s = w->tablet.repl->SyncOnce(&progress);
  w->initial_sync_ms = t.Ms();
  if (!s.ok()) return "initial SyncOnce: " + s.ToString();
  if (progress.changes_pulled != static_cast<int64_t>(kRepCustomers)) {
    return "initial sync pulled " + std::to_string(progress.changes_pulled);
  }
  Progress(
      Format("incremental: %.0f records seeded in %.1f s; the rep's first sync (%.0f "
             "customers) %.0f ms",
             static_cast<double>(w->records), w->seed_ms / 1000, static_cast<double>(kRepCustomers),
             w->initial_sync_ms));
  return "";
}

struct RoundSample {
  double ms = 0;
  int64_t bytes = 0;
};

// One timed round; `pushed`/`pulled` are what it must have moved.
std::string TimedRound(Tablet& t, int64_t pushed, int64_t pulled, RoundSample* out,
                       sync::SyncProgress* progress_out = nullptr) {
  sync::SyncProgress progress;
  Stopwatch watch;
  Status s = t.repl->SyncOnce(&progress);
  out->ms = watch.Ms();
  if (!s.ok()) return "SyncOnce: " + s.ToString();
  if (progress.changes_pushed != pushed || progress.changes_pulled != pulled) {
    return "round moved " + std::to_string(progress.changes_pushed) + " up, " +
           std::to_string(progress.changes_pulled) + " down; expected " + std::to_string(pushed) +
           ", " + std::to_string(pulled);
  }
  out->bytes = progress.bytes_sent + progress.bytes_received;
  if (progress_out) *progress_out = progress;
  return "";
}

std::string IncrementalRounds(const Options& o, IncrementalWorld& w, SyncGenerator& gen,
                              std::vector<double>* pull_ms, std::vector<double>* push_ms,
                              std::vector<double>* pull_bytes, std::vector<double>* push_bytes) {
  const uint32_t n = static_cast<uint32_t>(w.rep_customers.size());
  for (int rep = 0; rep < o.incremental_repeats; ++rep) {
    // pull10: the manager edits 10 of the rep's customers (untimed, through the service).
    std::vector<sync::Change> edits;
    for (size_t i = 0; i < kIncrementalChanges; ++i) {
      edits.push_back(gen.Edit(w.rep_customers[gen.Below(n)], kManagerNode));
    }
    std::string error = ServicePush(w.srv, w.manager, edits);
    RoundSample sample;
    if (error.empty()) error = TimedRound(w.tablet, 0, kIncrementalChanges, &sample);
    if (!error.empty()) return "pull10: " + error;
    pull_ms->push_back(sample.ms), pull_bytes->push_back(static_cast<double>(sample.bytes));
    // push10: the rep edits 10 customers on the tablet.
    std::set<std::string> chosen;
    while (chosen.size() < kIncrementalChanges) chosen.insert(w.rep_customers[gen.Below(n)]);
    for (const std::string& id : chosen) {
      Status s = w.tablet.db->Update("customers", id, gen.EditPatch(1));
      if (!s.ok()) return "push10: Update: " + s.ToString();
    }
    error = TimedRound(w.tablet, kIncrementalChanges, 0, &sample);
    if (!error.empty()) return "push10: " + error;
    push_ms->push_back(sample.ms), push_bytes->push_back(static_cast<double>(sample.bytes));
  }
  return "";
}

std::string RunIncremental(const Options& o, const std::string& dir, bool bytes_too,
                           std::vector<Line>* lines) {
  SyncGenerator gen(kSyncSeed + 7, NowMs() - 3600 * 1000);
  std::vector<double> small_pull, small_push, large_pull, large_push, pb, ub;
  IncrementalWorld small;
  std::string error = BuildIncremental(dir, o.small, &small);
  if (error.empty()) {
    error = IncrementalRounds(o, small, gen, &small_pull, &small_push, &pb, &ub);
  }
  if (!error.empty()) return "incremental (small): " + error;

  auto add = [&](const std::string& kind, const IncrementalWorld& w, std::vector<double> ours,
                 std::vector<double> base, const std::string& base_label, double bytes) {
    Line l{"sync.incremental." + kind + "." + std::to_string(w.records), "ms", base_label,
           std::move(ours), std::move(base)};
    l.target = "<=20 ms";
    l.meets = Median(l.ours) <= kTargetIncrementalMs;
    l.extras["target_ms"] = kTargetIncrementalMs;
    l.extras["server_records"] = w.records;
    l.extras["changes"] = kIncrementalChanges;
    l.extras["rep_customers"] = kRepCustomers;
    l.extras["http_bytes_median"] = bytes;
    l.extras["rep_first_sync_ms"] = w.initial_sync_ms;
    l.extras["what"] = kind == "pull10"
                           ? "SyncOnce of a synced tablet pulling 10 edits a manager made "
                             "(push of nothing, pull of one page)"
                           : "SyncOnce pushing 10 one-field edits (freeze, push, acknowledge) and "
                             "pulling nothing";
    lines->push_back(std::move(l));
  };
  add("pull10", small, small_pull, {}, "", Median(pb));
  add("push10", small, small_push, {}, "", Median(ub));

  if (bytes_too) {
    // One one-field edit, then 1,000, each a whole round.
    std::vector<double> one, per_edit;
    json detail = json::array();
    for (int rep = 0; rep < o.repeats; ++rep) {
      Status s = small.tablet.db->Update(
          "customers", small.rep_customers[gen.Below(static_cast<uint32_t>(kRepCustomers))],
          gen.EditPatch(1));
      if (!s.ok()) return "bytes: Update: " + s.ToString();
      RoundSample sample;
      sync::SyncProgress progress;
      error = TimedRound(small.tablet, 1, 0, &sample, &progress);
      if (!error.empty()) return "bytes (one edit): " + error;
      one.push_back(static_cast<double>(sample.bytes));
      detail.push_back({{"sent", progress.bytes_sent}, {"received", progress.bytes_received}});
    }
    json detail_1000 = json::array();
    for (int rep = 0; rep < o.repeats; ++rep) {
      std::vector<Edit> edits;
      for (const std::string& id : small.rep_customers) {
        Edit e;
        e.kind = Edit::Kind::kUpdate;
        e.collection = "customers";
        e.id = id;
        e.json = gen.EditPatch(1);
        edits.push_back(std::move(e));
      }
      Result<std::vector<std::string>> applied = small.tablet.db->Apply(edits);
      if (!applied.ok()) return "bytes: Apply: " + applied.status().ToString();
      RoundSample sample;
      sync::SyncProgress progress;
      error = TimedRound(small.tablet, static_cast<int64_t>(kRepCustomers), 0, &sample, &progress);
      if (!error.empty()) return "bytes (1,000 edits): " + error;
      per_edit.push_back(static_cast<double>(sample.bytes) / kRepCustomers);
      detail_1000.push_back({{"sent", progress.bytes_sent},
                             {"received", progress.bytes_received},
                             {"round_ms", sample.ms}});
    }
    Line l1{"sync.bytes.one_edit_round", "bytes", "", one, {}};
    l1.target = "<=1 KB";
    l1.meets = Median(one) <= kTargetOneEditBytes;
    l1.extras["target_bytes"] = kTargetOneEditBytes;
    l1.extras["per_round"] = detail;
    l1.extras["what"] =
        "a SyncOnce pushing one one-field edit: POST /v1/push and the GET /v1/pull that ends "
        "the round, request and status lines, headers and bodies, both directions";
    Line l2{"sync.bytes.per_edit_in_1000", "bytes", "", per_edit, {}};
    l2.target = "<=120 B";
    l2.meets = Median(per_edit) <= kTargetBytesPerEdit;
    l2.extras["target_bytes"] = kTargetBytesPerEdit;
    l2.extras["per_round"] = detail_1000;
    l2.extras["what"] =
        "a SyncOnce pushing 1,000 one-field edits of 1,000 customers (one gzipped push) and the "
        "pull that ends the round, all bytes both directions / 1,000";
    lines->push_back(std::move(l1));
    lines->push_back(std::move(l2));
  }
  small.tablet.Close();
  small.srv.Stop();

  if (o.large > 0) {
    IncrementalWorld large;
    error = BuildIncremental(dir, o.large, &large);
    std::vector<double> lpb, lub;
    if (error.empty()) {
      error = IncrementalRounds(o, large, gen, &large_pull, &large_push, &lpb, &lub);
    }
    if (!error.empty()) return "incremental (large): " + error;
    const std::string base =
        "the same round on the " + std::to_string(small.records) + "-record server (flat = ~1)";
    add("pull10", large, large_pull, small_pull, base, Median(lpb));
    add("push10", large, large_push, small_push, base, Median(lub));
  }
  return "";
}

// ---- report --------------------------------------------------------------------------------

std::string Number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  std::snprintf(buf, sizeof buf,
                a >= 1000 ? "%.0f"
                : a >= 10 ? "%.1f"
                : a >= 1  ? "%.2f"
                          : "%.3f",
                v);
  return buf;
}

json Entry(const Line& l) {
  json e = MakeEntry(l.name, l.unit, l.baseline, l.ours, l.base);
  if (l.higher_is_better) {
    std::optional<double> ratio = MedianRatio(l.base, l.ours);
    std::vector<double> paired = PairedRatios(l.base, l.ours);
    Summary r = Summarize(paired);
    Summary v = Summarize(l.ours);
    Summary b = Summarize(l.base);
    e["ratio"] = ratio ? json(*ratio) : json(nullptr);
    e["ratio_per_repeat"] = paired;
    e["ratio_min"] = r.count ? json(r.min) : json(nullptr);
    e["ratio_max"] = r.count ? json(r.max) : json(nullptr);
    e["ratio_of_min"] = (v.count && b.count && v.max > 0) ? json(b.max / v.max) : json(nullptr);
    e["ratio_meaning"] = "cost ratio: our time / baseline time (baseline rate / our rate)";
  }
  for (auto it = l.extras.begin(); it != l.extras.end(); ++it) e[it.key()] = it.value();
  if (l.meets) e["meets_target"] = *l.meets;
  return e;
}

void PrintTable(const std::vector<Line>& lines) {
  std::printf("\n%-34s %-10s %10s %10s %7s %10s %7s  %-14s %s\n", "workload", "unit", "min",
              "median", "spread", "base med.", "ratio", "target", "met");
  for (const Line& l : lines) {
    Summary v = Summarize(l.ours);
    Summary b = Summarize(l.base);
    std::optional<double> ratio =
        l.higher_is_better ? MedianRatio(l.base, l.ours) : MedianRatio(l.ours, l.base);
    char spread[16];
    std::snprintf(spread, sizeof spread, "%.1f%%", 100 * v.spread());
    std::printf("%-34s %-10s %10s %10s %7s %10s %7s  %-14s %s\n",
                l.name.substr(std::strlen("sync.")).c_str(), l.unit.c_str(),
                v.count ? Number(v.min).c_str() : "-", v.count ? Number(v.median).c_str() : "-",
                spread, b.count ? Number(b.median).c_str() : "-",
                ratio ? Number(*ratio).c_str() : "-", l.target.c_str(),
                l.meets ? (*l.meets ? "yes" : "NO") : "");
  }
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: fieldsync-bench sync [--json FILE] [--quick] [--repeat N] [--push N]\n"
      "                            [--customers N] [--small N] [--large N] [--only LIST]\n"
      "                            [--dir DIR]\n"
      "  --json FILE     also write the results as a JSON list\n"
      "  --quick         a smoke run: 2 repetitions (incremental 3), 5,000 pushed changes,\n"
      "                  2,000 customers + 6,000 visits, servers of 2,000 and 20,000 records\n"
      "  --repeat N      repetitions of push, first_sync and bytes (default 3); incremental\n"
      "                  rounds: at least 10\n"
      "  --push N        changes pushed (default 100,000)\n"
      "  --customers N   customers of the first sync, with 3N visits (default 100,000)\n"
      "  --small N       records on the small incremental server (default 10,000)\n"
      "  --large N       records on the large incremental server (default 1,000,000; 0 skips)\n"
      "  --only LIST     comma-separated workloads: push,first_sync,incremental,bytes\n"
      "  --dir DIR       where the temporary databases go (default $TMPDIR or /tmp)\n");
  return 2;
}

}  // namespace

int RunSync(int argc, char** argv) {
  Options o;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto count = [&](size_t* out) {
      const char* v = value();
      if (!v) return false;
      *out = std::strtoul(v, nullptr, 10);
      return true;
    };
    const char* v = nullptr;
    if (arg == "--json" && (v = value())) {
      o.json_path = v;
    } else if (arg == "--dir" && (v = value())) {
      o.dir = v;
    } else if (arg == "--quick") {
      o.repeats = 2;
      o.incremental_repeats = 3;
      o.push = 5000;
      o.customers = 2000;
      o.small = 2000;
      o.large = 20000;
    } else if (arg == "--repeat" && (v = value())) {
      o.repeats = std::atoi(v);
      o.incremental_repeats = std::max(o.repeats, 10);
    } else if (arg == "--only" && (v = value())) {
      std::stringstream list(v);
      std::string item;
      while (std::getline(list, item, ',')) {
        if (item != "push" && item != "first_sync" && item != "incremental" && item != "bytes") {
          return Usage();
        }
        o.only.insert(item);
      }
    } else if ((arg == "--push" && count(&o.push)) ||
               (arg == "--customers" && count(&o.customers)) ||
               (arg == "--small" && count(&o.small)) || (arg == "--large" && count(&o.large))) {
    } else {
      return Usage();
    }
  }
  if (o.repeats < 1 || o.push < kBatch || o.customers < 1 || o.small < kRepCustomers ||
      (o.large > 0 && o.large < kRepCustomers)) {
    return Usage();
  }
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.dir = (tmp && *tmp) ? tmp : "/tmp";
  }
  TempDir dir;
  if (!dir.Make(o.dir, "sync")) {
    std::fprintf(stderr, "fieldsync-bench: cannot create a temporary directory under %s\n",
                 o.dir.c_str());
    return 1;
  }
  std::printf(
      "fieldsync-bench sync: %d repetitions (incremental %d); push %zu changes; first sync %zu "
      "customers + %zu visits; incremental on %zu and %zu records; loopback, SQLite backend\n",
      o.repeats, o.incremental_repeats, o.push, o.customers, 3 * o.customers, o.small, o.large);
  std::fflush(stdout);

  std::vector<Line> lines;
  std::vector<std::string> problems;
  auto run = [&](const std::string& error) {
    if (!error.empty()) problems.push_back(error);
  };
  if (o.Runs("push")) run(RunPush(o, dir.path(), &lines));
  if (o.Runs("first_sync")) run(RunFirstSync(o, dir.path(), &lines));
  if (o.Runs("incremental") || o.Runs("bytes")) {
    Options inc = o;
    if (!o.Runs("incremental")) inc.large = 0;
    run(RunIncremental(inc, dir.path(), o.Runs("bytes"), &lines));
  }

  PrintTable(lines);
  std::printf(
      "\nmin, median, spread: over repetitions (spread = (max - min) / median). base med. = the "
      "baseline's median, measured in\nthis run. ratio = ours / baseline on medians (push: our "
      "time / direct-write time). Client and server share\nthis process and the machine's cores; "
      "the machine is shared, so read the spread.\n");
  for (const std::string& p : problems) std::printf("PROBLEM: %s\n", p.c_str());

  if (!o.json_path.empty()) {
    json out = json::array();
    for (const Line& l : lines) out.push_back(Entry(l));
    std::ofstream f(o.json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "fieldsync-bench: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
    std::printf("JSON written to %s\n", o.json_path.c_str());
  }
  return problems.empty() ? 0 : 1;
}

}  // namespace fieldsync::bench
