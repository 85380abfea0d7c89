// The one path that opens a model: maps the GGUF file and loads its weights onto a device. The
// embedded backend and the engine commands (generate, logits, bench) all come through here.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "device/device.h"
#include "gguf/gguf_file.h"
#include "model/model.h"

namespace cmdai::engine {

// The mapped file and the model on it; the model is declared last so it goes first.
struct LoadedModel {
  std::unique_ptr<gguf::GgufFile> file;
  std::unique_ptr<model::Model> model;
};

struct LoadOptions {
  model::Precision precision = model::Precision::kFast;
  // Fill the mapping's page tables on a background thread (a request that only needs a few
  // pages now, the rest during prefill), rather than on first touch.
  bool populate_in_background = false;
};

// Errors keep their codes: kNotFound for a missing file, kCorruptFile, kUnsupported, the
// device's kResourceExhausted or kDeviceError, kUnsupported for a precision the device lacks.
Result<LoadedModel> load_model(const std::string& path, device::Device& device,
                               const LoadOptions& options = {});

// Opens the device a `--backend` value names ("auto", "cpu", "cuda", "mlx").
Result<std::unique_ptr<device::Device>> open_device_named(const std::string& name, int threads);

// A device and a model loaded on it, for the engine commands (the model is declared last, so it
// goes first).
struct OpenedModel {
  std::unique_ptr<device::Device> device;
  LoadedModel loaded;
};

// The device `backend` names and the model at `path` on it. `exact` asks for the float reference,
// which is the CPU's: with it, "auto" means the CPU.
Result<OpenedModel> open_model(const std::string& path, const std::string& backend, int threads,
                               bool exact);

}  // namespace cmdai::engine
