# cft's hooks for bash, appended by `cft hook bash` after the lines that
# set __cft_bin, CFT_DB, CFT_SESSION and PATH. A DEBUG trap records each
# typed line as it starts (chaining any trap already set); PROMPT_COMMAND
# records how it ended, and the EXIT trap how the line that ended the
# shell (`exit 3`) did. Undo with `cft_unhook`. Once the session is no
# longer recording (`cft __hook` exits 3: finished, aborted or erased) the
# hooks say so on stderr and undo themselves: the prompt, PATH and traps
# are the shell's own again.
__cft_armed=
__cft_histno=
__cft_off=
__cft_preexec() {
    [ -n "$__cft_armed" ] || return 0
    case "$BASH_COMMAND" in __cft_*) return 0 ;; esac
    local h line=$BASH_COMMAND
    h=$(HISTTIMEFORMAT= builtin history 1)
    # The EXIT trap's commands fire this trap too, with the last line's
    # BASH_COMMAND, no new history and LINENO 1 ($1): not a typed line.
    if [ "$1" = 1 ] && [ -n "$__cft_histno" ] && [[ $h =~ ^[[:space:]]*$__cft_histno[*]?[[:space:]] ]]; then
        return 0
    fi
    __cft_armed=
    if [[ $h =~ ^[[:space:]]*([0-9]+)[*]?[[:space:]]+(.*)$ ]] && [ "${BASH_REMATCH[1]}" != "$__cft_histno" ]; then
        __cft_histno=${BASH_REMATCH[1]}
        line=${BASH_REMATCH[2]}
    fi
    CFT_INTENT_PARENT=$("$__cft_bin" __hook start --pid "$$" -- "$line" 2>/dev/null)
    [ $? -eq 3 ] && __cft_off=1
    export CFT_INTENT_PARENT
}
__cft_end() {
    if [ -n "${CFT_INTENT_PARENT-}" ]; then
        "$__cft_bin" __hook end "$CFT_INTENT_PARENT" "$1" 2>/dev/null
        [ $? -eq 3 ] && __cft_off=1
        unset CFT_INTENT_PARENT
    fi
}
__cft_precmd() {
    local st=$?
    __cft_armed=
    __cft_end "$st"
    return $st
}
__cft_arm() {
    if [ -n "$__cft_off" ]; then
        printf 'cft: session %s is no longer recording; its shell hooks are off\n' "$CFT_SESSION" >&2
        cft_unhook
        return 0
    fi
    __cft_armed=1
}
__cft_on_exit() {
    local st=$?
    __cft_end "$st"
    return $st
}
__cft_prev_trap=$(trap -p DEBUG)
__cft_prev_trap=${__cft_prev_trap#trap -- \'}
__cft_prev_trap=${__cft_prev_trap%\' DEBUG}
trap "__cft_preexec \"\$LINENO\"${__cft_prev_trap:+; $__cft_prev_trap}" DEBUG
__cft_prev_exit=$(trap -p EXIT)
__cft_prev_exit=${__cft_prev_exit#trap -- \'}
__cft_prev_exit=${__cft_prev_exit%\' EXIT}
trap "__cft_on_exit${__cft_prev_exit:+; $__cft_prev_exit}" EXIT
__cft_prev_pc=$PROMPT_COMMAND
# Through eval: the user's PROMPT_COMMAND may end in `;` or span lines.
__cft_user_pc() { eval "$__cft_prev_pc"; }
PROMPT_COMMAND="__cft_precmd; __cft_user_pc; __cft_arm"
cft_unhook() {
    [ -n "${CFT_INTENT_PARENT-}" ] && "$__cft_bin" __hook end "$CFT_INTENT_PARENT" 0 2>/dev/null
    trap "$__cft_prev_trap" DEBUG
    if [ -n "$__cft_prev_exit" ]; then trap "$__cft_prev_exit" EXIT; else trap - EXIT; fi
    PROMPT_COMMAND=$__cft_prev_pc
    PS1=$__cft_ps1
    PATH=$__cft_path
    unset CFT_SESSION CFT_INTENT_PARENT
    unset -f __cft_preexec __cft_precmd __cft_arm __cft_end __cft_on_exit __cft_user_pc cft_unhook
}
