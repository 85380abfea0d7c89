# Cross build for 64-bit Arm Linux with Debian's aarch64 cross compiler (g++-aarch64-linux-gnu).
# Test binaries run through qemu-user (ctest and gtest_discover_tests use the emulator below).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMDAI_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${CMDAI_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${CMDAI_CROSS_TRIPLE}-g++)

# Target libraries and packages come only from the cross sysroot, never from the x86 host.
set(CMAKE_FIND_ROOT_PATH /usr/${CMDAI_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# "-cpu max" enables every extension qemu emulates (dotprod included); the test script also
# runs with a baseline ARMv8.0 CPU model through QEMU_CPU.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/${CMDAI_CROSS_TRIPLE})
