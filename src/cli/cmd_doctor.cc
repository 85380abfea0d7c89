// `cmdai doctor`: what cmdai sees on this machine and what to fix before it can answer.
#include <fmt/format.h>
#include <sys/utsname.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backend/inference_backend.h"
#include "base/cpu_features.h"
#include "base/thread_pool.h"
#include "catalog/catalog.h"
#include "catalog/paths.h"
#include "cli/command_registry.h"
#include "config/config.h"
#include "device/device.h"

namespace cmdai::cli {
namespace {

// The config file and CMDAI_* variables, loaded as a request loads them: a mistake there makes
// every request fail, so it is reported with the file and the parse error.
nlohmann::json config_report(nlohmann::json& fixes) {
  const std::filesystem::path file = config::default_config_path();
  std::error_code ec;
  nlohmann::json report = {
      {"path", file.string()}, {"exists", std::filesystem::exists(file, ec)}, {"ok", true}};
  if (Result<config::Config> loaded = config::load_config(); !loaded.ok()) {
    report["ok"] = false;
    report["error"] = loaded.error().message;
    fixes.push_back(
        fmt::format("the configuration is broken, so every request fails: {} (fix "
                    "it; `cmdai config show` checks it again)",
                    loaded.error().message));
  }
  return report;
}

nlohmann::json collect_report() {
  nlohmann::json report;
  struct utsname name {};
  uname(&name);
  report["platform"] = {{"os", name.sysname}, {"release", name.release}, {"machine", name.machine}};
  report["cpu"] = {{"features_in_use", cpu_features().to_string()},
                   {"threads", ThreadPool::hardware_threads()}};
  // Each device is opened for real, so what doctor says is what --backend would find.
  nlohmann::json devices = nlohmann::json::array();
  for (device::DeviceChoice choice :
       {device::DeviceChoice::kCuda, device::DeviceChoice::kMlx, device::DeviceChoice::kCpu}) {
    auto opened = device::open_device(choice, device::DeviceOptions{});
    const std::string name(choice == device::DeviceChoice::kCuda  ? "cuda"
                           : choice == device::DeviceChoice::kMlx ? "mlx"
                                                                  : "cpu");
    if (opened.ok()) {
      devices.push_back({{"name", name}, {"available", true}, {"note", (*opened)->description()}});
    } else {
      devices.push_back({{"name", name}, {"available", false}, {"note", opened.error().message}});
    }
  }
  report["devices"] = devices;

  nlohmann::json fixes = nlohmann::json::array();
  nlohmann::json models = nlohmann::json::array();
  bool default_present = false;
  for (const auto& entry : catalog::known_models()) {
    const auto path = catalog::cached_path(entry);
    std::error_code ec;
    const bool present = std::filesystem::is_regular_file(path, ec);
    if (entry.name == catalog::kDefaultModelName) default_present = present;
    models.push_back({{"name", entry.name}, {"cached", present}, {"path", path.string()}});
  }
  report["model_cache"] = {{"dir", catalog::models_dir().string()},
                           {"models", models},
                           {"default_model", std::string(catalog::kDefaultModelName)},
                           {"default_model_cached", default_present}};
  if (!default_present) {
    fixes.push_back(
        fmt::format("the default model is not downloaded: run `cmdai model pull {}` while "
                    "online, or pass --model /path/to/model.gguf",
                    catalog::kDefaultModelName));
  }
  if (!cpu_features().avx2 && !cpu_features().neon) {
    fixes.push_back("this CPU has no AVX2 or NEON: cmdai runs its scalar kernels and will be slow");
  }
  report["config"] = config_report(fixes);
  report["fixes"] = fixes;
  report["ok"] = fixes.empty();
  return report;
}

void print_plain(const nlohmann::json& r) {
  fmt::print("platform     {} {} ({})\n", r["platform"]["os"].get<std::string>(),
             r["platform"]["release"].get<std::string>(),
             r["platform"]["machine"].get<std::string>());
  fmt::print("cpu          {} threads, kernels: {}\n", r["cpu"]["threads"].get<int>(),
             r["cpu"]["features_in_use"].get<std::string>());
  for (const auto& d : r["devices"]) {
    fmt::print(
        "device       {:<5} {}{}\n", d["name"].get<std::string>(),
        d["available"].get<bool>() ? "available: " : "unavailable: ", d["note"].get<std::string>());
  }
  fmt::print("model cache  {}\n", r["model_cache"]["dir"].get<std::string>());
  for (const auto& m : r["model_cache"]["models"]) {
    fmt::print("  {} {}\n", m["cached"].get<bool>() ? "[x]" : "[ ]", m["name"].get<std::string>());
  }
  const nlohmann::json& config = r["config"];
  if (!config["ok"].get<bool>()) {
    fmt::print("config       {}: broken: {}\n", config["path"].get<std::string>(),
               config["error"].get<std::string>());
  } else {
    fmt::print("config       {}{}\n", config["path"].get<std::string>(),
               config["exists"].get<bool>() ? "" : " (not present; defaults apply)");
  }
  if (r["fixes"].empty()) {
    fmt::print("\nall good\n");
  } else {
    fmt::print("\nto fix:\n");
    for (const auto& f : r["fixes"]) fmt::print("  - {}\n", f.get<std::string>());
  }
}

void setup_doctor(CLI::App& app, CliContext& context) {
  static bool json = false;
  CLI::App* doctor = app.add_subcommand(
      "doctor", "Show what cmdai sees here (CPU, devices, models, config) and what to fix");
  doctor->add_flag("--json", json, "print one JSON object");
  doctor->callback([] {
    const nlohmann::json report = collect_report();
    if (json)
      fmt::print("{}\n", report.dump());
    else
      print_plain(report);
  });
}

CMDAI_REGISTER_COMMAND(setup_doctor);

}  // namespace
}  // namespace cmdai::cli
