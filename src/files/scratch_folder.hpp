// The one kind of temporary folder aiway-stress makes: worker processes'
// files, a repetition's socket, a proxy's config and a target's log.
//
// Named aiway-stress-<pid>-XXXXXX under $TMPDIR (or /tmp), mode 0700, with a
// marker file inside that names the creating process and its start time. A
// run killed before it could remove its folder leaves it behind; the next
// run removes such a folder only when everything says it made it and its
// maker is gone: a directory (not a link), owned by this user, holding a
// marker in the exact form written here whose process no longer runs (or a
// new process reuses its pid: the start times differ). Anything else is
// someone else's and stays.
#pragma once

#include <filesystem>
#include <string>

namespace aiway {

class ScratchFolder {
 public:
  // Throws InputError when the temporary folder cannot be used ($TMPDIR
  // missing or not writable), naming it.
  ScratchFolder();
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// $TMPDIR, or /tmp when it is unset or empty.
std::filesystem::path temporary_base();

// Removes the folders under `base` that a killed run of aiway-stress left
// (see above); returns how many. Never follows a link, never removes a
// folder it cannot prove is a dead run's.
std::size_t remove_stale_scratch_folders(const std::filesystem::path& base);

// The marker's name inside a scratch folder.
inline constexpr const char* kScratchMarker = ".aiway-stress-owner";

}  // namespace aiway
