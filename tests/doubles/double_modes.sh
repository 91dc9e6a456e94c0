# Failure modes every double shares, chosen with QFORGE_DOUBLE_MODE:
#   sleep     sleeps (a hung tool; SIGTERM ends it)
#   stubborn  ignores SIGTERM and sleeps (only SIGKILL ends it)
#   segv      crashes with SIGSEGV
#   exit139   exits 139, as a wrapper script does when its tool crashed
#   license, tool_error, noreport   handled by the Tcl prelude / the double
case "${QFORGE_DOUBLE_MODE:-ok}" in
    sleep) echo "INFO: [HLS 200-10] Starting synthesis ..."; sleep 600 ;;
    stubborn) trap '' TERM; echo "INFO: [HLS 200-10] Starting synthesis ..."; sleep 600 ;;
    segv) echo "INFO: [HLS 200-10] Starting synthesis ..."; kill -SEGV $$ ;;
    exit139) echo "/tools/bin/loader: line 312: 4242 Segmentation fault (core dumped)"; exit 139 ;;
esac
