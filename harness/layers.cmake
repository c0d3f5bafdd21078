# The harness layers that know neither MPI nor Google Benchmark (base, api, kinds, input, plan,
# records, judge), one static library each (records two: the records and the sinks). harness/CMakeLists.txt includes this file and adds
# world, run and cli; the fuzzers' own clang build includes it and links the layers it uses.
set(RACKQUAL_HARNESS_DIR ${CMAKE_CURRENT_LIST_DIR})

# A layer: a static library, rackqual_<name>, of the named sources of its folder
# (harness/<folder>/<source>.cpp; the folder is the name unless FOLDER says otherwise), whose
# folder is staged as rackqual/<folder> for the libraries that link it.
function(rackqual_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "FOLDER" "SOURCES;PUBLIC;PRIVATE")
  set(folder ${name})
  if(arg_FOLDER)
    set(folder ${arg_FOLDER})
  endif()
  list(TRANSFORM arg_SOURCES PREPEND ${RACKQUAL_HARNESS_DIR}/${folder}/)
  list(TRANSFORM arg_SOURCES APPEND .cpp)
  add_library(rackqual_${name} STATIC ${arg_SOURCES})
  set(stage ${PROJECT_BINARY_DIR}/include-layer-${folder})
  file(MAKE_DIRECTORY ${stage}/rackqual)
  if(NOT EXISTS ${stage}/rackqual/${folder})
    file(CREATE_LINK ${RACKQUAL_HARNESS_DIR}/${folder} ${stage}/rackqual/${folder} SYMBOLIC)
  endif()
  target_include_directories(rackqual_${name} PUBLIC ${stage})
  target_link_libraries(rackqual_${name} PUBLIC ${arg_PUBLIC} PRIVATE ${arg_PRIVATE})
endfunction()

# base: errors, units, names, statistics, scope, verdict, element types, topology.
rackqual_layer(base
  SOURCES dtype error name scope stats topology units verdict
  PUBLIC nlohmann_json::nlohmann_json)
configure_file(${RACKQUAL_HARNESS_DIR}/base/version.hpp.in
               ${PROJECT_BINARY_DIR}/include-layer-base-generated/rackqual/base/version.hpp @ONLY)
target_include_directories(rackqual_base PUBLIC ${PROJECT_BINARY_DIR}/include-layer-base-generated)

# api: all a backend, a kind or the model may link: parameters, kinds, backends, operations, groups.
rackqual_layer(api
  SOURCES backend group kind kind_params params
  PUBLIC rackqual_base)

# kinds: one file per benchmark kind. They register themselves at start-up: an OBJECT library
# keeps every one linked.
add_library(rackqual_kinds OBJECT)
foreach(kind allreduce gemm hbm p2p transformer_step)
  target_sources(rackqual_kinds PRIVATE ${RACKQUAL_HARNESS_DIR}/kinds/${kind}.cpp)
endforeach()
target_link_libraries(rackqual_kinds PUBLIC rackqual_api rackqual_common)

# input: suite, platform profile, inventory and fault files; yaml-cpp lives here only.
rackqual_layer(input
  SOURCES criteria criterion_yaml fault input_file inventory platform suite yaml_file
  PUBLIC rackqual_api
  PRIVATE yaml-cpp)
target_compile_definitions(rackqual_input PRIVATE RACKQUAL_DATA_DIR="${RACKQUAL_DATA_DIR}")

# plan: criteria resolved to bounds per point, memory fit.
rackqual_layer(plan
  SOURCES memory_fit plan prepared_suite
  PUBLIC rackqual_input)

# records: the record, the run folder and its manifest; and, a library of their own in the same
# folder, the sinks (JSON Lines, the verdict table, progress, JUnit XML, Prometheus), which
# what only reads and judges records does not link.
rackqual_layer(records
  SOURCES file_writer manifest record run_folder
  PUBLIC rackqual_api)
rackqual_layer(sinks FOLDER records
  SOURCES junit_sink progress prometheus_sink sink sink_format summary
  PUBLIC rackqual_records rackqual_plan Threads::Threads)
# Record files read into columns (simdjson), for Python's data frames and the fleet history: a library of its own,
# so that only what reads records in bulk links simdjson.
add_library(rackqual_columns STATIC ${RACKQUAL_HARNESS_DIR}/records/record_columns.cpp
  ${RACKQUAL_HARNESS_DIR}/records/history_columns.cpp ${RACKQUAL_HARNESS_DIR}/records/json_lines.cpp)
target_include_directories(rackqual_columns PUBLIC ${PROJECT_BINARY_DIR}/include-layer-records)
target_link_libraries(rackqual_columns PRIVATE simdjson::simdjson Threads::Threads)
set_target_properties(rackqual_columns PROPERTIES POSITION_INDEPENDENT_CODE ON)

# judge: pure verdicts, votes, the isolation planner, qualify verdicts, re-judging.
rackqual_layer(judge
  SOURCES isolation judge qualify rejudge vote
  PUBLIC rackqual_records rackqual_plan)
