// For tests: the devices of this build as a test parameter, so golden, model-load and contract
// tests run once per device with the CPU as the oracle. A device this machine cannot open (a CUDA
// build without a GPU) makes its tests skip, saying why.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "device/device.h"

namespace cmdai::device {

inline std::vector<DeviceChoice> devices_under_test() {
  std::vector<DeviceChoice> choices;
  for (DeviceKind kind : compiled_devices()) {
    switch (kind) {
      case DeviceKind::kCpu:
        choices.push_back(DeviceChoice::kCpu);
        break;
      case DeviceKind::kCuda:
        choices.push_back(DeviceChoice::kCuda);
        break;
      case DeviceKind::kMlx:
        choices.push_back(DeviceChoice::kMlx);
        break;
    }
  }
  return choices;
}

inline std::string device_choice_name(DeviceChoice choice) {
  switch (choice) {
    case DeviceChoice::kCpu:
      return "cpu";
    case DeviceChoice::kCuda:
      return "cuda";
    case DeviceChoice::kMlx:
      return "mlx";
    case DeviceChoice::kAuto:
      return "auto";
  }
  return "unknown";
}

// Opens `choice` for a test; null (after recording why) when this machine cannot run it, so the
// caller can GTEST_SKIP.
inline std::unique_ptr<Device> open_test_device(DeviceChoice choice, std::string* why) {
  DeviceOptions options;
  options.threads = 2;
  auto device = open_device(choice, options);
  if (!device.ok()) {
    *why = device_choice_name(choice) + " device unavailable here: " + device.error().message;
    return nullptr;
  }
  return std::move(device).value();
}

}  // namespace cmdai::device
