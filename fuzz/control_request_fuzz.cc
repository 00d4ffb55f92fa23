// The publish daemon's control API as a client can drive it: the input is one request, a first
// line "METHOD TARGET" and the rest its JSON body, answered by a real Daemon (job lanes started,
// in a private temporary root) through Daemon::handle, as the control socket would. Oracles:
// the answer comes (each request waits for it, so jobs never pile up), its status is one a
// client may get for its own input (never 500), its body is a JSON object or array, and an error
// message quotes only a short prefix of what the client sent. The typed readers of
// request_fields.h are fed the same text directly.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_util.h"
#include "pool/daemon.h"
#include "pool/request_fields.h"

namespace {

using depot::fuzz::check;
namespace pool = depot::pool;

struct Fixture {
  Fixture() {
    char tmpl[] = "/tmp/depot-control-fuzz.XXXXXX";
    check(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    root = tmpl;
    pool::DaemonOptions opts;
    opts.root = root;
    opts.workers = 1;
    opts.publish.index.write_xz = false;
    auto d = pool::Daemon::open(opts, logger);
    check(d.ok(), "Daemon::open");
    daemon = std::move(*d);
    check(daemon->start().ok(), "Daemon::start");
  }
  std::filesystem::path root;
  depot::Logger logger{depot::LogLevel::kError};
  std::unique_ptr<pool::Daemon> daemon;
};

Fixture& fixture() {
  static Fixture* f = new Fixture();  // lives for the process; its root is left in /tmp
  return *f;
}

void check_readers(std::string_view target, std::string_view body) {
  auto q = pool::QueryParams::parse(target, {"state", "limit", "wait"});
  if (q.ok()) (void)q->number("limit", 100, 10000);
  (void)pool::parse_id(target, "job id");
  std::string quoted = pool::quote_input(body);
  check(quoted.size() <= 64 * 4 + 8, "quote_input stays short");
  for (char c : quoted) check(c >= 0x20 && c < 0x7f, "quote_input escapes every byte");
  auto parsed = pool::parse_body(body);
  if (!parsed.ok()) return;
  pool::BodyFields fields(*parsed);
  (void)fields.string("name");
  (void)fields.optional_string("from");
  (void)fields.boolean("wait", true);
  (void)fields.strings("files");
  (void)fields.only({"name", "from", "wait", "files"});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return 0;
  pool::ControlRequest r{std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)),
                         std::string(body)};
  check_readers(r.target, body);

  auto answered = std::make_shared<std::promise<pool::ControlResponse>>();
  auto fut = answered->get_future();
  fixture().daemon->handle(r, [answered](pool::ControlResponse out) {
    answered->set_value(std::move(out));
  });
  check(fut.wait_for(std::chrono::seconds(20)) == std::future_status::ready,
        "the control API answers");
  pool::ControlResponse out = fut.get();
  check(out.status != 500, "no internal error for a client's input");
  check(out.status >= 200 && out.status < 600, "an HTTP status");
  auto doc = nlohmann::json::parse(out.body, nullptr, false);
  check(doc.is_object() || doc.is_array(), "the answer is a JSON document");
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
    check(doc["error"].get<std::string>().size() <= 1024, "error messages stay short");
  }
  return 0;
}
