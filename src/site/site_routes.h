#pragma once
// The faces of a running site: SiteRoutes answers the server's /_depot/status.json, the status
// page at /_depot/ (and /_depot/index.html; /_depot redirects there) and adds the jobs' series
// to /metrics; site_control answers the control socket (`depot ctl`):
//   GET  /site/jobs                      -> the status JSON
//   POST /site/jobs/NAME/start|stop|enable|disable -> {"ok":true} | {"error":...} (404, 409, 400)
//   GET  /site/jobs/NAME/log?bytes=N     -> {"log": the tail of the job's log}
//   POST /site/reload                    -> {"ok":true,"jobs":N} | 400 {"error": the problems}
// Thread-safe (the service is).

#include <functional>
#include <string_view>

#include "pool/control_api.h"
#include "serve/http_server.h"
#include "site/site_service.h"

namespace depot::site {

class SiteRoutes final : public LocalRoutes {
 public:
  explicit SiteRoutes(SiteService& service) : service_(service) {}
  std::optional<Page> page(std::string_view target) override;
  std::string metrics() override;

 private:
  SiteService& service_;
};

// Reloads the configuration: reads it again, and applies it when it is valid; else the error
// lists its problems and nothing changes.
using ReloadFn = std::function<Status()>;

pool::ControlResponse site_control(SiteService& service, const ReloadFn& reload,
                                   const pool::ControlRequest& request);

// The status page (src/site/status_page.html).
std::string_view status_page_html();

}  // namespace depot::site
