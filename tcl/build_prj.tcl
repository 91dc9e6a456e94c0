# build_prj.tcl: C simulation, C synthesis, co-simulation, export and Vivado
# synthesis of {{ top }} with {{ backend_title }}. Written by qforge from its
# `build_prj.tcl` template (hls4ml's layout and options). Run it as:
{%- if vitis %}
#   vitis_hls -f build_prj.tcl            (Vitis HLS up to 2023.2)
#   vitis-run --mode hls --tcl build_prj.tcl   (2023.1 and later)
# with the steps chosen in build_opt.tcl.
{%- else %}
#   vivado_hls -f build_prj.tcl "reset=0 csim=1 synth=1 cosim=0 validation=0 export=0 vsynth=0 fifo_opt=0"
{%- endif %}

set tcldir [file dirname [file normalize [info script]]]
source [file join $tcldir project.tcl]

array set opt {
    reset      0
    csim       1
    synth      1
    cosim      0
    validation 0
    export     0
    evaluate   0
    vsynth     0
    fifo_opt   0
}
if {[file exists [file join $tcldir build_opt.tcl]]} {
    source [file join $tcldir build_opt.tcl]
}
# Options on the command line ("synth=1 csim=0 ...") win over build_opt.tcl;
# unknown words (the tool's own arguments) are ignored.
foreach arg $::argv {
    foreach word [split $arg " "] {
        if {[regexp {^(\w+)=(\w+)$} $word -> name value] && [info exists opt($name)]} {
            set opt($name) $value
        }
    }
}
puts "***** INVOKE OPTIONS *****"
foreach name [lsort [array names opt]] {
    puts [format {   %-12s %s} $name $opt($name)]
}

proc report_time {step time_start} {
    set seconds [expr {([clock milliseconds] - $time_start) / 1000.0}]
    puts [format "***** %s COMPLETED IN %.1f s *****" $step $seconds]
}

file mkdir tb_data
set CSIM_RESULTS "./tb_data/csim_results.log"
set RTL_COSIM_RESULTS "./tb_data/rtl_cosim_results.log"

if {$opt(reset)} {
    open_project -reset $prj_dir
} else {
    open_project $prj_dir
}
set_top $project_name
{%- for file in firmware_files %}
add_files {{ file }} -cflags "{{ cflags }}"
{%- endfor %}
{%- if testbench %}
add_files -tb {{ testbench }} -cflags "{{ cflags }}"
{%- endif %}
{%- for path in tb_files %}
add_files -tb {{ path }}
{%- endfor %}
if {$opt(reset)} {
    open_solution -reset "solution1"
} else {
    open_solution "solution1"
}
catch {config_array_partition -maximum_size $maximum_size}
{%- if vitis %}
config_compile -name_max_length 80
config_schedule -enable_dsp_full_reg=false
{%- endif %}
set_part $part
create_clock -period $clock_period -name default
set_clock_uncertainty $clock_uncertainty default

if {$opt(csim)} {
    puts "***** C SIMULATION *****"
    set time_start [clock milliseconds]
    csim_design
    report_time "C SIMULATION" $time_start
}

if {$opt(synth)} {
    puts "***** C/RTL SYNTHESIS *****"
    set time_start [clock milliseconds]
    csynth_design
    report_time "C/RTL SYNTHESIS" $time_start
}

if {$opt(cosim)} {
    puts "***** C/RTL SIMULATION *****"
    # The testbench writes its RTL results to a second file when RTL_SIM is set.
    add_files -tb {{ testbench or (top ~ "_test.cpp") }} -cflags "{{ cflags }} -DRTL_SIM"
    set time_start [clock milliseconds]
    cosim_design -trace_level all
    report_time "C/RTL SIMULATION" $time_start
}

if {$opt(validation)} {
    puts "***** C/RTL VALIDATION *****"
    set same 0
    if {[file exists $CSIM_RESULTS] && [file exists $RTL_COSIM_RESULTS]} {
        set a [open $CSIM_RESULTS r]
        set b [open $RTL_COSIM_RESULTS r]
        set same [string equal [read $a] [read $b]]
        close $a
        close $b
    }
    if {$same} {
        puts "INFO: Test PASSED"
    } else {
        puts "ERROR: C simulation and RTL co-simulation results differ: $CSIM_RESULTS vs $RTL_COSIM_RESULTS"
        exit 1
    }
}

if {$opt(export)} {
    puts "***** EXPORT IP *****"
    set time_start [clock milliseconds]
    export_design -format ip_catalog -version $version
    report_time "EXPORT IP" $time_start
}

if {$opt(evaluate)} {
    # Vivado place and route of the exported RTL: writes
    # $prj_dir/solution1/impl/report/verilog/${project_name}_export.xml
    puts "***** EXPORT EVALUATION *****"
    set time_start [clock milliseconds]
{%- if vitis %}
    export_design -flow impl -rtl verilog -format ip_catalog -version $version
{%- else %}
    export_design -evaluate verilog -format ip_catalog -version $version
{%- endif %}
    report_time "EXPORT EVALUATION" $time_start
}

if {$opt(vsynth)} {
    puts "***** VIVADO SYNTHESIS *****"
    if {[file exists [file join $prj_dir solution1 syn verilog]]} {
        set time_start [clock milliseconds]
        exec vivado -mode batch -source [file join $tcldir vivado_synth.tcl] >@ stdout
        report_time "VIVADO SYNTHESIS" $time_start
    } else {
        puts "ERROR: no generated Verilog in $prj_dir/solution1/syn/verilog: run C synthesis first (synth=1)"
        exit 1
    }
}

exit
