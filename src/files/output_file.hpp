// Every file aiway-stress writes, written so that nothing the user did not
// name is destroyed and a crash never leaves half a file:
// - an output path that exists and is not a regular file (a device, a FIFO,
//   a directory, a symlink to one) is refused before any work, naming it;
// - a symlink to a regular file is followed: the file it names is replaced,
//   the link is kept;
// - the content goes to a temporary file with an unpredictable name in the
//   target's directory, created O_CREAT|O_EXCL|O_NOFOLLOW (a planted symlink
//   cannot redirect it), fsynced, renamed over the target, and the directory
//   fsynced; the previous file survives until the new one is complete;
// - the temporary name is short and fixed-length, so any legal target name
//   (up to NAME_MAX bytes) works.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "aiway/input_error.hpp"

namespace aiway {

class OutputError : public InputError {
 public:
  using InputError::InputError;
};

void write_file_atomically(const std::filesystem::path& path, std::string_view content);
// Fails early (before minutes of work) when `path` could not be written later:
// empty, not a regular file, or in a folder that does not exist or is not writable.
void check_writable(const std::filesystem::path& path);

// One output of a command: `option` names it in messages (e.g. "--out").
struct OutputPath {
  std::string option;
  std::string path;
};
// Checks every named output (empty paths are unset and skipped) and that no
// two of them, and no output and input, are the same file. "-" (standard
// output) is accepted where allow_stdout.
void check_outputs(const std::vector<OutputPath>& outputs, const std::vector<std::string>& inputs,
                   bool allow_stdout = false);

}  // namespace aiway
