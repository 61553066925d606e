# cft's hooks for zsh, appended by `cft hook zsh` after the lines that
# set __cft_bin, CFT_DB, CFT_SESSION and PATH: preexec records each typed
# line as it starts, precmd how it ended, and zshexit how the line that
# ended the shell (`exit 3`) did (add-zsh-hook). Undo with `cft_unhook`.
# Once the session is no longer recording (`cft __hook` exits 3: finished,
# aborted or erased) the hooks say so on stderr and undo themselves: the
# prompt and PATH are the shell's own again.
__cft_off=
__cft_preexec() {
    CFT_INTENT_PARENT=$("$__cft_bin" __hook start --pid "$$" -- "${1:-$3}" 2>/dev/null)
    (( $? == 3 )) && __cft_off=1
    export CFT_INTENT_PARENT
}
__cft_end() {
    if [[ -n ${CFT_INTENT_PARENT-} ]]; then
        "$__cft_bin" __hook end "$CFT_INTENT_PARENT" "$1" 2>/dev/null
        (( $? == 3 )) && __cft_off=1
        unset CFT_INTENT_PARENT
    fi
}
__cft_precmd() {
    local st=$?
    __cft_end "$st"
    if [[ -n $__cft_off ]]; then
        print -u2 "cft: session $CFT_SESSION is no longer recording; its shell hooks are off"
        cft_unhook
    fi
    return $st
}
__cft_zshexit() {
    __cft_end "$?"
}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __cft_preexec
add-zsh-hook zshexit __cft_zshexit
precmd_functions=(__cft_precmd ${precmd_functions:#__cft_precmd})
cft_unhook() {
    [[ -n ${CFT_INTENT_PARENT-} ]] && "$__cft_bin" __hook end "$CFT_INTENT_PARENT" 0 2>/dev/null
    add-zsh-hook -d preexec __cft_preexec
    add-zsh-hook -d precmd __cft_precmd
    add-zsh-hook -d zshexit __cft_zshexit
    PS1=$__cft_ps1
    PATH=$__cft_path
    unset CFT_SESSION CFT_INTENT_PARENT
    unfunction __cft_preexec __cft_precmd __cft_end __cft_zshexit cft_unhook
}
