# Test double core for vivado_hls, vitis_hls, vitis-run and vivado: defines the
# vendor Tcl commands as procs that record their name and arguments (one line
# each in $QFORGE_DOUBLE_RECORD), check the order a real tool needs, and write
# real reports from $QFORGE_FIXTURES where the tool writes them; then sources
# the generated script. A Tcl error in the script fails like the real tool does.
#
# Usage: tclsh xilinx_prelude.tcl FLAVOR SCRIPT [ARGS...]
set flavor [lindex $argv 0]
set script [lindex $argv 1]
set argv [lrange $argv 2 end]
set argc [llength $argv]

set record_file [expr {[info exists env(QFORGE_DOUBLE_RECORD)] ? $env(QFORGE_DOUBLE_RECORD) : "double_record.txt"}]
set mode [expr {[info exists env(QFORGE_DOUBLE_MODE)] ? $env(QFORGE_DOUBLE_MODE) : "ok"}]
set fixtures [expr {[info exists env(QFORGE_FIXTURES)] ? $env(QFORGE_FIXTURES) : ""}]

proc record {name args} {
    set f [open $::record_file a]
    puts $f [string trim "$name [join $args { }]"]
    close $f
}

proc fail {message} {
    puts "ERROR: \[Double 1-1\] $message"
    exit 1
}

proc need {what} {
    if {![info exists ::state($what)]} {
        fail "[info level -1] before $what: a step is missing"
    }
}

proc copy_fixture {name dest} {
    if {$::fixtures eq ""} { fail "QFORGE_FIXTURES is not set" }
    file mkdir [file dirname $dest]
    # Written anew, as the tool writes it (file copy would keep the fixture's old mtime).
    set in [open [file join $::fixtures $name] rb]
    set out [open $dest wb]
    fcopy $in $out
    close $in
    close $out
}

# Vivado HLS / Vitis HLS
proc open_project {args} {
    record open_project {*}$args
    set ::state(project) [lindex $args end]
    file mkdir $::state(project)
}
proc set_top {name} { need project; record set_top $name; set ::state(top) $name }
proc add_files {args} {
    record add_files {*}$args
    set files [lsearch -all -inline -not -glob $args -*]
    if {[set i [lsearch $args -cflags]] >= 0} {
        set files [lsearch -all -inline -not -exact $files [lindex $args [expr {$i + 1}]]]
    }
    foreach f $files {
        if {![file exists $f]} { fail "add_files: $f does not exist" }
    }
}
proc open_solution {args} { need project; record open_solution {*}$args; set ::state(solution) [lindex $args end] }
proc set_part {args} { record set_part {*}$args; set ::state(part) [lindex $args end] }
proc create_clock {args} {
    record create_clock {*}$args
    if {[lsearch $args -period] < 0} { fail "create_clock without -period" }
    set ::state(clock) 1
}
proc set_clock_uncertainty {args} { need clock; record set_clock_uncertainty {*}$args }
foreach name {config_compile config_schedule config_array_partition config_interface config_export config_dataflow close_project close_solution} {
    proc $name {args} "record $name {*}\$args"
}
proc csim_design {args} { need solution; record csim_design {*}$args }
proc cosim_design {args} { need synthesised; record cosim_design {*}$args }
proc csynth_design {args} {
    foreach what {project top solution part clock} { need $what }
    record csynth_design {*}$args
    puts "INFO: \[HLS 200-10\] Analyzing design file 'firmware/$::state(top).cpp' ..."
    puts "INFO: \[HLS 200-10\] Starting code transformations ..."
    if {$::mode eq "license"} {
        puts "ERROR: \[Common 17-345\] A valid license was not found for feature 'HLS' and/or device '$::state(part)'."
        exit 1
    }
    if {$::mode eq "tool_error"} {
        fail "csynth_design: unsupported construct in firmware/$::state(top).cpp"
    }
    set solution [file join $::state(project) $::state(solution)]
    file mkdir [file join $solution syn verilog]
    set v [open [file join $solution syn verilog $::state(top).v] w]
    puts $v "module $::state(top)(input ap_clk, input ap_rst, output ap_done); assign ap_done = 1'b1; endmodule"
    close $v
    if {$::mode ne "noreport"} {
        set fixture [expr {$::flavor eq "vivado_hls" ? "vivado_hls/hls4ml_tutorial_2019_2_myproject_csynth.xml" : "vitis_hls/hls4ml_ece226_2024_1_myproject_csynth.xml"}]
        copy_fixture $fixture [file join $solution syn report $::state(top)_csynth.xml]
        copy_fixture $fixture [file join $solution syn report csynth.xml]
    }
    set ::state(synthesised) 1
    if {$::mode eq "fail_after_report"} {
        fail "csynth_design: post-synthesis check failed after the report was written"
    }
}
proc export_design {args} {
    need synthesised
    record export_design {*}$args
    if {[lsearch $args -evaluate] >= 0 || [lsearch $args -flow] >= 0} {
        copy_fixture hls_export/diagsum_2019_1_sum_export.xml \
            [file join $::state(project) $::state(solution) impl report verilog $::state(top)_export.xml]
    }
}

# Vivado
proc read_verilog {args} {
    record read_verilog {*}$args
    foreach f [join $args] { if {![file exists $f]} { fail "read_verilog: $f does not exist" } }
    set ::state(rtl) 1
}
proc read_xdc {args} {
    record read_xdc {*}$args
    if {![file exists [lindex $args end]]} { fail "read_xdc: [lindex $args end] does not exist" }
}
proc synth_design {args} {
    need rtl
    record synth_design {*}$args
    puts "Command: synth_design $args"
    puts "Starting synth_design"
    if {$::mode eq "license"} {
        puts "ERROR: \[Common 17-345\] A valid license was not found for feature 'Synthesis' and/or device 'xcvu13p'"
        exit 1
    }
    set ::state(synthesised_netlist) 1
}
proc opt_design {args} { need synthesised_netlist; record opt_design {*}$args; puts "Command: opt_design" }
proc place_design {args} { need synthesised_netlist; record place_design {*}$args; puts "Command: place_design"; set ::state(placed) 1 }
proc route_design {args} { need placed; record route_design {*}$args; puts "Command: route_design"; set ::state(routed) 1 }
proc read_saif {args} { need routed; record read_saif {*}$args }
proc report_timing_summary {args} { need synthesised_netlist; record report_timing_summary {*}$args }
proc write_checkpoint {args} { record write_checkpoint {*}$args }
proc report_utilization {args} {
    need synthesised_netlist
    record report_utilization {*}$args
    set i [lsearch $args -file]
    if {$i >= 0 && $::mode ne "noreport"} {
        copy_fixture vivado_synth/ece226codesign_2024.1_model1_vivado_synth.rpt [lindex $args [expr {$i + 1}]]
    }
}
proc report_power {args} {
    need routed
    record report_power {*}$args
    set i [lsearch $args -file]
    if {$i >= 0} {
        copy_fixture vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt [lindex $args [expr {$i + 1}]]
    }
}

# The vivado_hls `exec vivado` of vsynth=1 is recorded, not run.
rename exec tcl_exec
proc exec {args} { record exec {*}$args }

record start $flavor [file tail $script] {*}$argv
if {[catch {source $script} message]} {
    puts "ERROR: \[Common 17-1\] while sourcing [file tail $script]: $message"
    exit 1
}
record end
exit 0
