# Install rules (cmake --install, make install, and the Debian package: docs/install.md).
# Components: "berth" (the binary, man pages, completions, docs), "units" (the systemd units
# for this prefix), "state" (/var/lib/berth). The package takes "berth" and "deb-units" (the
# units for /usr) and leaves "state" out: its postinst creates /var/lib/berth owned by the
# _berth user (a directory shipped in the package would be reset to root:root by dpkg on
# every upgrade).
include(GNUInstallDirs)
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME berth)

# berth itself looks for its registry in /var/lib/berth whatever the prefix (src/registry).
set(BERTH_STATE_DIR /var/lib/berth CACHE PATH "berth's state directory (the root registry)")
install(TARGETS berth RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# berth pin's LD_PRELOAD shim (docs/pin.md), private to berth: where it looks, ../lib/berth
# beside its binary (not the multiarch library dir, which is for libraries others link).
install(TARGETS berth_pin_preload LIBRARY DESTINATION lib/berth)

# Man pages, compressed as Debian ships them: berth(1) and berth-COMMAND(1) (tools/gen-man).
if(HELP2MAN)
  install(DIRECTORY ${CMAKE_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
          FILES_MATCHING PATTERN "*.1.gz")
endif()

# Completions where each shell looks for a package's own (vendor) files.
install(FILES ${CMAKE_BINARY_DIR}/completions/berth.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME berth)
install(FILES ${CMAKE_BINARY_DIR}/completions/berth.zsh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions RENAME _berth)
install(FILES ${CMAKE_BINARY_DIR}/completions/berth.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# The units and the system user's files, for this install's prefix (component "units") and,
# for the package, for /usr (component "deb-units", installed only when asked for by name).
# Debian 12 keeps packaged units in /lib/systemd/system; systemd also reads
# /usr/local/lib/systemd/system, so other prefixes keep their units under the prefix.
function(berth_install_units component prefix)
  if(prefix STREQUAL "/usr")
    set(unitdir /lib/systemd/system)
  else()
    set(unitdir ${prefix}/lib/systemd/system)
  endif()
  set(exclude "")
  if(component STREQUAL "deb-units")
    set(exclude EXCLUDE_FROM_ALL)
  endif()
  set(BERTH_BINDIR ${prefix}/${CMAKE_INSTALL_BINDIR})
  foreach(unit berth-agent berth-serve berth-reserve)
    configure_file(${PROJECT_SOURCE_DIR}/contrib/${unit}.service.in
                   ${CMAKE_BINARY_DIR}/${component}/${unit}.service @ONLY)
    install(FILES ${CMAKE_BINARY_DIR}/${component}/${unit}.service DESTINATION ${unitdir}
            COMPONENT ${component} ${exclude})
  endforeach()
  # The system user and the state directory for systemd-sysusers and systemd-tmpfiles (an
  # install from source); the package's postinst does the same with adduser.
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/sysusers.conf DESTINATION ${prefix}/lib/sysusers.d
          RENAME berth.conf COMPONENT ${component} ${exclude})
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/tmpfiles.conf DESTINATION ${prefix}/lib/tmpfiles.d
          RENAME berth.conf COMPONENT ${component} ${exclude})
endfunction()
berth_install_units(units ${CMAKE_INSTALL_PREFIX})
berth_install_units(deb-units /usr)

install(FILES ${PROJECT_SOURCE_DIR}/contrib/berth.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/deb/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

install(DIRECTORY DESTINATION ${BERTH_STATE_DIR} COMPONENT state
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)
