// Every file aiway-stress writes goes to a temporary file in the same folder
// and is renamed into place: a crash or a full disk never leaves half a file,
// and the previous file survives until the new one is complete.
#pragma once

#include <filesystem>
#include "aiway/input_error.hpp"
#include <string_view>

namespace aiway {

class OutputError : public InputError {
 public:
  using InputError::InputError;
};

void write_file_atomically(const std::filesystem::path& path, std::string_view content);
// Fails early (before minutes of work) when `path` could not be written later.
void check_writable(const std::filesystem::path& path);

}  // namespace aiway
