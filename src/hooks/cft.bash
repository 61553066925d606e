# cft's hooks for bash, appended by `cft hook bash` after the lines that
# set __cft_bin, CFT_DB, CFT_SESSION and PATH. A DEBUG trap records each
# typed line as it starts (chaining any trap already set); PROMPT_COMMAND
# records how it ended. Undo with `cft_unhook`.
__cft_armed=
__cft_histno=
__cft_preexec() {
    [ -n "$__cft_armed" ] || return 0
    case "$BASH_COMMAND" in __cft_*) return 0 ;; esac
    __cft_armed=
    local h line=$BASH_COMMAND
    h=$(HISTTIMEFORMAT= builtin history 1)
    if [[ $h =~ ^[[:space:]]*([0-9]+)[*]?[[:space:]]+(.*)$ ]] && [ "${BASH_REMATCH[1]}" != "$__cft_histno" ]; then
        __cft_histno=${BASH_REMATCH[1]}
        line=${BASH_REMATCH[2]}
    fi
    CFT_INTENT_PARENT=$("$__cft_bin" __hook start --pid "$$" -- "$line" 2>/dev/null) || CFT_INTENT_PARENT=
    export CFT_INTENT_PARENT
}
__cft_precmd() {
    local st=$?
    __cft_armed=
    if [ -n "${CFT_INTENT_PARENT-}" ]; then
        "$__cft_bin" __hook end "$CFT_INTENT_PARENT" "$st" 2>/dev/null
        unset CFT_INTENT_PARENT
    fi
    return $st
}
__cft_arm() { __cft_armed=1; }
__cft_prev_trap=$(trap -p DEBUG)
__cft_prev_trap=${__cft_prev_trap#trap -- \'}
__cft_prev_trap=${__cft_prev_trap%\' DEBUG}
trap "__cft_preexec${__cft_prev_trap:+; $__cft_prev_trap}" DEBUG
__cft_prev_pc=$PROMPT_COMMAND
# Through eval: the user's PROMPT_COMMAND may end in `;` or span lines.
__cft_user_pc() { eval "$__cft_prev_pc"; }
PROMPT_COMMAND="__cft_precmd; __cft_user_pc; __cft_arm"
cft_unhook() {
    [ -n "${CFT_INTENT_PARENT-}" ] && "$__cft_bin" __hook end "$CFT_INTENT_PARENT" 0 2>/dev/null
    trap "$__cft_prev_trap" DEBUG
    PROMPT_COMMAND=$__cft_prev_pc
    PS1=$__cft_ps1
    PATH=$__cft_path
    unset CFT_SESSION CFT_INTENT_PARENT
    unset -f __cft_preexec __cft_precmd __cft_arm __cft_user_pc cft_unhook
}
