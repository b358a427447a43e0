# Cross-build for Windows with Debian's mingw-w64 (i686-w64-mingw32).
# Used by the mingw32 preset (CMakePresets.json); tests run under Wine
# through ci/wine-run.sh (CMAKE_CROSSCOMPILING_EMULATOR, set in
# CMakeLists.txt once the build folder is known).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_C_COMPILER i686-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER i686-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/i686-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
