// Every file aiway-stress reads, read so that no input can hang it or make it
// read without end: opened without blocking (a FIFO does not wait for a
// writer), refused unless it is a regular file, refused when larger than the
// caller's bound, and every failure said in words: missing, a directory, a
// device, too large, unreadable.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "aiway/input_error.hpp"

namespace aiway {

// `what` names the kind of file in messages ("scenario file", "results file").
// Throws InputError.
std::string read_input_file(const std::filesystem::path& path, std::size_t max_bytes, const std::string& what);

}  // namespace aiway
