import streamlit as st
st.title('conv_lab')
st.info('This page is being built.')
