# fuzz_spop: bytes from "HAProxy" into the connection state machine
# (frame loop, HELLO, NOTIFY, DISCONNECT, the codec below them), with the
# fake validator behind es_decide. Seeds: tests/fuzz/corpus/spop/.
if(TARGET es_transport_fake)
	edgeseal_fuzz_target(spop
		SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/spop_conn.c"
		LIBS es_transport_fake)
endif()
