// server/src/main.cc: fieldsync-server, the central sync peer.
//
// USAGE
//   fieldsync-server serve --db sqlite:PATH --listen HOST:PORT [--tls-cert PEM --tls-key PEM]
//   fieldsync-server admin --db sqlite:PATH create-tenant TENANT NAME
//   fieldsync-server admin --db sqlite:PATH add-team TENANT TEAM NAME
//   fieldsync-server admin --db sqlite:PATH add-user TENANT USER ROLE [--team TEAM]...
//   fieldsync-server admin --db sqlite:PATH share-customer TENANT CUSTOMER TEAM
//   fieldsync-server admin --db sqlite:PATH reset-password TENANT USER
//   fieldsync-server admin --db sqlite:PATH list-devices TENANT
//   fieldsync-server admin --db sqlite:PATH revoke-device TENANT DEVICE
//   fieldsync-server admin --db sqlite:PATH audit TENANT [--record COLLECTION/ID] [--user USER]
//
// `audit` prints the tenant's audit trail, oldest first, one JSON object per line (audit.h
// AuditRowToJson), kept to one record and/or one acting user by the options.
//
// CONTRACT (like fieldsync-cli)
//   add-user and reset-password read the password from FIELDSYNC_PASSWORD, never from the
//   arguments. reset-password ends every token of the user (each device logs in again).
//   list-devices prints one JSON object per device on stdout (admin.h DeviceJson):
//     {"device","user","name","platform","status":"active|revoked|wiped","registered",
//      "last_sync","pending","revoked","wiped"}
//   revoke-device ends the device's tokens at once; the tablet is told to erase its database at
//   its next contact, and list-devices shows "wiped" once it reports that it did.
//   `serve` prints one line `listening on HOST:PORT` (PORT 0 picks a free port and prints it) and
//   stops cleanly on SIGINT or SIGTERM.
//   Failures go to stderr as one line `error: <code>: <message>`.
//   Exit codes: 0 ok, 1 other error, 2 usage, 5 I/O error, 6 invalid input.
//   With --tls-cert and --tls-key (PEM files) the server speaks HTTPS itself; a certificate or key
//   that cannot be loaded fails at start (exit 6) naming the files. Without them it speaks plain
//   HTTP: behind a TLS terminator, or on loopback only (protocol §2).
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "admin.h"
#include "audit.h"
#include "backend.h"
#include "http_server.h"
#include "sync_service.h"

namespace fieldsync::server {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIOError = 5;
constexpr int kExitInvalidInput = 6;

constexpr char kUsage[] =
    "usage: fieldsync-server serve --db sqlite:PATH --listen HOST:PORT\n"
    "                              [--tls-cert CERT.pem --tls-key KEY.pem]\n"
    "       fieldsync-server admin --db sqlite:PATH create-tenant TENANT NAME\n"
    "       fieldsync-server admin --db sqlite:PATH add-team TENANT TEAM NAME\n"
    "       fieldsync-server admin --db sqlite:PATH add-user TENANT USER ROLE [--team TEAM]...\n"
    "                                (password from FIELDSYNC_PASSWORD; ROLE rep|manager|admin)\n"
    "       fieldsync-server admin --db sqlite:PATH share-customer TENANT CUSTOMER TEAM\n"
    "       fieldsync-server admin --db sqlite:PATH reset-password TENANT USER\n"
    "                                (password from FIELDSYNC_PASSWORD; ends the user's tokens)\n"
    "       fieldsync-server admin --db sqlite:PATH list-devices TENANT\n"
    "                                (one JSON object per device)\n"
    "       fieldsync-server admin --db sqlite:PATH revoke-device TENANT DEVICE\n"
    "                                (its tokens end; it erases its database at next contact)\n"
    "       fieldsync-server admin --db sqlite:PATH audit TENANT [--record COLLECTION/ID]\n"
    "                                [--user USER]   (one JSON object per line, oldest first)\n";

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

int Usage(const std::string& what) {
  std::cerr << "error: usage: " << OneLine(what) << '\n' << kUsage;
  return kExitUsage;
}

int Report(const Status& s) {
  if (s.ok()) return kExitOk;
  std::cerr << "error: " << StatusCodeName(s.code()) << ": " << OneLine(s.message()) << '\n';
  switch (s.code()) {
    case StatusCode::kIOError:
    case StatusCode::kUnavailable:
      return kExitIOError;
    case StatusCode::kInvalidArgument:
      return kExitInvalidInput;
    default:
      return kExitFailure;
  }
}

// Splits "host:port"; false if malformed.
bool ParseListen(const std::string& text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  const std::string p = text.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  *port = std::stoi(p);
  if (*port > 65535) return false;
  *host = text.substr(0, colon);
  return true;
}

int Serve(const std::string& db_url, const std::string& listen, const std::string& tls_cert,
          const std::string& tls_key) {
  std::string host;
  int port = 0;
  if (!ParseListen(listen, &host, &port)) return Usage("--listen expects HOST:PORT");
  if (tls_cert.empty() != tls_key.empty()) return Usage("--tls-cert and --tls-key go together");
  Result<std::unique_ptr<Backend>> backend = OpenBackend(db_url);
  if (!backend.ok()) return Report(backend.status());
  SyncService service(backend->get(), Schema::FieldSales());
  HttpServerOptions http_options;
  http_options.tls_cert_file = tls_cert;
  http_options.tls_key_file = tls_key;
  HttpServer http(&service, http_options);

  // SIGINT/SIGTERM are taken by a waiting thread instead of a handler, so stopping runs as
  // ordinary code. Blocked before any other thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<int> bound = http.Bind(host, port);
  if (!bound.ok()) return Report(bound.status());
  std::cout << "listening on " << host << ':' << *bound << std::endl;
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    http.Stop();
  });
  Status run = http.Run();
  // Run returned without a signal (a listen error): wake the stopper so it can be joined.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return Report(run);
}

// ---- admin audit ----
// Prints the trail as JSON lines (audit.h AuditLine): escaped, so no stored id can forge a line.
int Audit(Backend* backend, const std::string& tenant, const std::string& record,
          const std::string& user) {
  AuditFilter filter;
  if (!record.empty()) {
    const size_t slash = record.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == record.size()) {
      return Usage("--record expects COLLECTION/ID");
    }
    filter.collection = record.substr(0, slash);
    filter.record_id = record.substr(slash + 1);
  }
  filter.user = user;
  return Report(AdminReadAudit(backend, tenant, filter, [](const AuditRow& row) {
    std::cout << AuditLine(row) << '\n';
    return static_cast<bool>(std::cout);
  }));
}

int Admin(const std::string& db_url, const std::vector<std::string>& args) {
  if (args.empty()) return Usage("admin needs a command");
  const std::string& command = args[0];
  std::vector<std::string> positional;
  std::vector<std::string> teams;
  std::string audit_record, audit_user;  // audit's --record and --user
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--team") {
      if (i + 1 >= args.size()) return Usage("--team needs a value");
      teams.push_back(args[++i]);
    } else if (command == "audit" && (args[i] == "--record" || args[i] == "--user")) {
      if (i + 1 >= args.size() || args[i + 1].empty()) return Usage(args[i] + " needs a value");
      (args[i] == "--record" ? audit_record : audit_user) = args[i + 1];
      ++i;
    } else if (args[i].size() > 1 && args[i][0] == '-') {
      // Echo only the name: a typed --password=... must not reach a terminal or a log.
      return Usage("unknown option " + OneLine(args[i].substr(0, args[i].find('='))));
    } else {
      positional.push_back(args[i]);
    }
  }
  auto need = [&](size_t n) { return positional.size() == n; };
  if (command == "create-tenant" && need(2) && teams.empty()) {
  } else if (command == "add-team" && need(3) && teams.empty()) {
  } else if (command == "add-user" && need(3)) {
  } else if (command == "share-customer" && need(3) && teams.empty()) {
  } else if (command == "reset-password" && need(2) && teams.empty()) {
  } else if (command == "list-devices" && need(1) && teams.empty()) {
  } else if (command == "revoke-device" && need(2) && teams.empty()) {
  } else if (command == "audit" && need(1) && teams.empty()) {
  } else {
    return Usage("bad admin command or argument count");
  }
  Result<std::unique_ptr<Backend>> backend = OpenBackend(db_url);
  if (!backend.ok()) return Report(backend.status());
  Backend* b = backend->get();
  if (command == "create-tenant") return Report(AdminCreateTenant(b, positional[0], positional[1]));
  if (command == "add-team") {
    return Report(AdminAddTeam(b, positional[0], positional[1], positional[2]));
  }
  if (command == "share-customer") {
    return Report(AdminShareCustomer(b, positional[0], positional[1], positional[2]));
  }
  if (command == "list-devices") {
    Result<std::vector<DeviceRow>> devices = AdminListDevices(b, positional[0]);
    if (!devices.ok()) return Report(devices.status());
    for (const DeviceRow& d : *devices) std::cout << DeviceJson(d) << '\n';
    std::cout.flush();
    return std::cout ? kExitOk : Report(Status::IOError("cannot write to stdout"));
  }
  if (command == "revoke-device") return Report(AdminRevokeDevice(b, positional[0], positional[1]));
  if (command == "audit") return Audit(b, positional[0], audit_record, audit_user);
  const char* password = std::getenv("FIELDSYNC_PASSWORD");
  if (password == nullptr || *password == '\0') {
    return Report(Status::InvalidArgument("set the password in FIELDSYNC_PASSWORD"));
  }
  if (command == "reset-password") {
    return Report(AdminResetPassword(b, positional[0], positional[1], password));
  }
  return Report(AdminAddUser(b, positional[0], positional[1], positional[2], teams, password));
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage("no command given");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  const std::string mode = args[0];
  if (mode != "serve" && mode != "admin") return Usage("unknown command " + OneLine(mode));
  std::string db, listen, tls_cert, tls_key;
  std::vector<std::string> rest;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string* value = args[i] == "--db"         ? &db
                         : args[i] == "--listen"   ? &listen
                         : args[i] == "--tls-cert" ? &tls_cert
                         : args[i] == "--tls-key"  ? &tls_key
                                                   : nullptr;
    if (value != nullptr && i + 1 < args.size()) {
      *value = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  if (db.empty()) return Usage("--db sqlite:PATH is required");
  if (mode == "serve") {
    if (!rest.empty()) return Usage("serve takes only --db, --listen, --tls-cert and --tls-key");
    if (listen.empty()) return Usage("--listen HOST:PORT is required");
    return Serve(db, listen, tls_cert, tls_key);
  }
  if (!listen.empty() || !tls_cert.empty() || !tls_key.empty()) {
    return Usage("admin takes no --listen, --tls-cert or --tls-key");
  }
  return Admin(db, rest);
}

}  // namespace
}  // namespace fieldsync::server

int main(int argc, char** argv) {
  try {
    return fieldsync::server::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: internal: " << fieldsync::server::OneLine(e.what()) << '\n';
  } catch (...) {
    std::cerr << "error: internal: unknown exception\n";
  }
  return 1;
}
