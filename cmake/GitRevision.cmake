# Writes the git revision into a generated source at every build (not only at
# configure time), so results never name a stale revision.
set(AIWAY_GIT_SOURCE "${CMAKE_BINARY_DIR}/generated/git_revision.cpp")
add_custom_target(aiway_git_revision
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUT=${AIWAY_GIT_SOURCE}
          -P ${CMAKE_SOURCE_DIR}/cmake/WriteGitRevision.cmake
  BYPRODUCTS ${AIWAY_GIT_SOURCE}
  COMMENT "Recording git revision")
