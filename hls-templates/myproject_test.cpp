// {{ top }}_test.cpp: testbench of {{ top }}{% if stream %} (io_stream){% endif %}. Written by qforge.
//
// Reads raw input bits (one sample per line, {{ n_inputs }} space-separated
// signed integers, as `qforge predict --inputs-raw` writes them), calls
// {{ top }} on each sample{% if stream %} (its pixels written into the input stream){% endif %} and writes one line per sample: the {{ n_outputs }}
// raw output bits and the argmax class. When a file of expected lines is given
// (or tb_data/tb_output_raw.dat exists) it compares and fails on any difference.
//
//   {{ top }}_test [INPUTS [RESULTS [EXPECTED]]]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "firmware/{{ top }}.h"
#include "firmware/nnet_utils/nnet_activation.h"

struct argmax_config {
    static const unsigned n_in = N_OUTPUTS;
};

static bool read_rows(const char *path, unsigned width, std::vector<std::vector<long long> > &rows) {
    std::ifstream in(path);
    if (!in.is_open()) {
        return false;
    }
    std::string line;
    unsigned number = 0;
    while (std::getline(in, line)) {
        number++;
        std::istringstream words(line);
        std::vector<long long> row;
        long long value;
        while (words >> value) {
            row.push_back(value);
        }
        if (row.empty()) {
            continue;
        }
        if (row.size() != width) {
            std::fprintf(stderr, "ERROR: %s:%u: %u values, expected %u\n", path, number, (unsigned)row.size(), width);
            return false;
        }
        rows.push_back(row);
    }
    return true;
}

int main(int argc, char **argv) {
    const char *input_path = argc > 1 ? argv[1] : "tb_data/tb_input_raw.dat";
#ifdef RTL_SIM
    const char *results_path = argc > 2 ? argv[2] : "tb_data/rtl_cosim_results.log";
#else
    const char *results_path = argc > 2 ? argv[2] : "tb_data/csim_results.log";
#endif
    const char *expected_path = argc > 3 ? argv[3] : (argc > 1 ? 0 : "tb_data/tb_output_raw.dat");

    std::vector<std::vector<long long> > inputs;
    if (!read_rows(input_path, N_INPUT_1_1, inputs)) {
        std::fprintf(stderr, "ERROR: cannot read the raw inputs %s\n", input_path);
        return 2;
    }
    const size_t n = inputs.size();
    std::vector<long long> outputs(n * (N_OUTPUTS + 1));

    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::clock_t cpu_start = std::clock();
    for (size_t s = 0; s < n; s++) {
{% if stream %}        hls::stream<input_arr_t> x("input");
        hls::stream<result_arr_t> y("output");
        for (unsigned p = 0; p < N_INPUT_1_1 / input_arr_t::size; p++) {
            input_arr_t pixel;
            for (unsigned c = 0; c < input_arr_t::size; c++) {
                nnet::set_raw_bits(pixel[c], inputs[s][p * input_arr_t::size + c]);
            }
            x.write(pixel);
        }
        {{ top }}(x, y);
        // The firmware must consume every input and write exactly one result.
        if (!x.empty() || y.empty()) {
            std::fprintf(stderr, "ERROR: sample %lu: input left unread or no result written\n", (unsigned long)s);
            return 3;
        }
        result_arr_t out = y.read();
        if (!y.empty()) {
            std::fprintf(stderr, "ERROR: sample %lu: more than one result written\n", (unsigned long)s);
            return 3;
        }
        for (unsigned j = 0; j < N_OUTPUTS; j++) {
            outputs[s * (N_OUTPUTS + 1) + j] = nnet::raw_bits(out[j]);
        }
        outputs[s * (N_OUTPUTS + 1) + N_OUTPUTS] = nnet::argmax<result_t, argmax_config>(out.data);
{% else %}        input_t x[N_INPUT_1_1];
        result_t y[N_OUTPUTS];
        for (unsigned i = 0; i < N_INPUT_1_1; i++) {
            nnet::set_raw_bits(x[i], inputs[s][i]);
        }
        {{ top }}(x, y);
        for (unsigned j = 0; j < N_OUTPUTS; j++) {
            outputs[s * (N_OUTPUTS + 1) + j] = nnet::raw_bits(y[j]);
        }
        outputs[s * (N_OUTPUTS + 1) + N_OUTPUTS] = nnet::argmax<result_t, argmax_config>(y);
{% endif %}    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu_seconds = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;

    std::ofstream results(results_path);
    if (!results.is_open()) {
        std::fprintf(stderr, "ERROR: cannot write %s\n", results_path);
        return 2;
    }
    for (size_t s = 0; s < n; s++) {
        for (unsigned j = 0; j <= N_OUTPUTS; j++) {
            results << (j ? " " : "") << outputs[s * (N_OUTPUTS + 1) + j];
        }
        results << "\n";
    }
    results.close();
    std::printf("QFORGE_CSIM samples=%lu loop_seconds=%.6f loop_cpu_seconds=%.6f\n", (unsigned long)n, seconds, cpu_seconds);

    std::vector<std::vector<long long> > expected;
    if (expected_path && read_rows(expected_path, N_OUTPUTS + 1, expected)) {
        size_t mismatches = 0;
        for (size_t s = 0; s < n && s < expected.size(); s++) {
            for (unsigned j = 0; j <= N_OUTPUTS; j++) {
                if (expected[s][j] != outputs[s * (N_OUTPUTS + 1) + j]) {
                    if (mismatches < 5) {
                        std::printf("MISMATCH sample %lu value %u: expected %lld, got %lld\n", (unsigned long)s, j,
                                    expected[s][j], outputs[s * (N_OUTPUTS + 1) + j]);
                    }
                    mismatches++;
                    break;
                }
            }
        }
        if (mismatches > 0 || expected.size() != n) {
            std::printf("ERROR: %lu of %lu samples differ from %s\n", (unsigned long)mismatches, (unsigned long)n, expected_path);
            return 1;
        }
        std::printf("INFO: Test PASSED (%lu samples match %s)\n", (unsigned long)n, expected_path);
    }
    return 0;
}
