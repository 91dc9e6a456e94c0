# vivado_synth.tcl: Vivado logic synthesis of the RTL that C synthesis wrote
# for {{ top }}, and optionally place, route and a power estimate. Written by
# qforge from its `vivado_synth.tcl` template. Run it as:
#   vivado -mode batch -source vivado_synth.tcl [-tclargs power=1 saif=FILE]
# Reports: vivado_synth.rpt (report_utilization), vivado_synth_timing.rpt,
# and with power=1 vivado_impl.rpt, vivado_impl_timing.rpt, {{ top }}_power_routed.rpt.

set tcldir [file dirname [file normalize [info script]]]
source [file join $tcldir project.tcl]

array set vopt {
    power {{ power }}
    saif  "{{ saif_file }}"
}
foreach arg $::argv {
    if {[regexp {^(\w+)=(.*)$} $arg -> name value] && [info exists vopt($name)]} {
        set vopt($name) $value
    }
}

set rtl_dir [file join $prj_dir solution1 syn verilog]
set rtl_files [glob -nocomplain -directory $rtl_dir *.v]
if {[llength $rtl_files] == 0} {
    puts "ERROR: no Verilog files in $rtl_dir: run C synthesis first"
    exit 1
}
read_verilog $rtl_files
# ROM contents that the RTL loads with $readmemh.
foreach dat [glob -nocomplain -directory $rtl_dir *.dat] {
    add_files $dat
}
read_xdc [file join $tcldir constraints {{ xdc_name }}]

synth_design -top $project_name -part $part -mode out_of_context
report_utilization -file vivado_synth.rpt
report_timing_summary -file vivado_synth_timing.rpt

if {$vopt(power)} {
    opt_design
    place_design
    route_design
    report_utilization -file vivado_impl.rpt
    report_timing_summary -file vivado_impl_timing.rpt
    if {$vopt(saif) ne "" && [file exists $vopt(saif)]} {
        # Switching activity from RTL simulation makes the estimate vector-based.
        read_saif $vopt(saif)
    } else {
        puts "INFO: no SAIF file: vectorless power estimate"
    }
    report_power -file ${project_name}_power_routed.rpt
}
