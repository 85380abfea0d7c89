#include "engine/model_loader.h"

namespace cmdai::engine {

Result<LoadedModel> load_model(const std::string& path, device::Device& device,
                               const LoadOptions& options) {
  LoadedModel loaded;
  CMDAI_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(path));
  loaded.file = std::make_unique<gguf::GgufFile>(std::move(file));
  if (options.populate_in_background) loaded.file->populate_in_background();
  CMDAI_ASSIGN_OR_RETURN(loaded.model, model::Model::load(*loaded.file, device));
  CMDAI_TRY(loaded.model->set_precision(options.precision));
  return loaded;
}

Result<std::unique_ptr<device::Device>> open_device_named(const std::string& name, int threads) {
  CMDAI_ASSIGN_OR_RETURN(device::DeviceChoice choice, device::parse_device_choice(name));
  device::DeviceOptions options;
  options.threads = threads;
  return device::open_device(choice, options);
}

Result<OpenedModel> open_model(const std::string& path, const std::string& backend, int threads,
                               bool exact) {
  OpenedModel opened;
  CMDAI_ASSIGN_OR_RETURN(opened.device,
                         open_device_named(exact && backend == "auto" ? "cpu" : backend, threads));
  LoadOptions options;
  options.precision = exact ? model::Precision::kExact : model::Precision::kFast;
  CMDAI_ASSIGN_OR_RETURN(opened.loaded, load_model(path, *opened.device, options));
  return opened;
}

}  // namespace cmdai::engine
